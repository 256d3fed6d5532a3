//! The session layer against grammers' own client-side MTProto (`mtp::Encrypted` +
//! `transport::Full`) over a raw socket: ping/pong, containers, gzip_packed in both directions,
//! rpc_error for unknown methods, and the 401 before login.

use std::time::Duration;

use grammers_crypto::DequeBuffer;
use grammers_mtproto::mtp::{Deserialization, Encrypted, Mtp};
use grammers_mtproto::transport::{Full, Transport};
use grammers_mtproto::MsgId;
use grammers_tl_types::{self as tl, Deserializable, RemoteCall, Serializable};
use tgsim::{Sim, SimConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct RawClient {
    stream: TcpStream,
    mtp: Encrypted,
    transport: Full,
    buf: Vec<u8>,
    /// Size of the last encrypted packet received (to see compression on the wire).
    last_packet_len: usize,
}

impl RawClient {
    async fn connect(sim: &Sim) -> Self {
        Self {
            stream: TcpStream::connect(sim.addr()).await.unwrap(),
            mtp: Encrypted::build().finish(sim.auth_key()),
            transport: Full::new(),
            buf: Vec::new(),
            last_packet_len: 0,
        }
    }

    /// Sends the requests in one packet (a container when more than one).
    async fn send(&mut self, requests: &[Vec<u8>]) -> Vec<MsgId> {
        let mut buffer = DequeBuffer::with_capacity(1 << 16, 64);
        let ids = requests
            .iter()
            .map(|r| {
                self.mtp
                    .push(&mut buffer, r)
                    .expect("fits in the container")
            })
            .collect();
        self.mtp.finalize(&mut buffer).unwrap();
        self.transport.pack(&mut buffer);
        self.stream.write_all(buffer.as_ref()).await.unwrap();
        ids
    }

    async fn recv(&mut self) -> Vec<Deserialization> {
        let mut chunk = vec![0u8; 1 << 16];
        loop {
            if let Ok(off) = self.transport.unpack(&mut self.buf) {
                let mut packet = self.buf[off.data_range.clone()].to_vec();
                self.buf.drain(..off.next_offset);
                self.last_packet_len = packet.len();
                return self.mtp.deserialize(&mut packet).unwrap();
            }
            let n = tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut chunk))
                .await
                .expect("server answered")
                .unwrap();
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Receives until every id in `ids` has an answer; returns bodies (Ok) or error names.
    async fn answers(&mut self, ids: &[MsgId]) -> Vec<Result<Vec<u8>, String>> {
        let mut out: Vec<Option<Result<Vec<u8>, String>>> = vec![None; ids.len()];
        while out.iter().any(Option::is_none) {
            for d in self.recv().await {
                let (id, r) = match d {
                    Deserialization::RpcResult(r) => (r.msg_id, Ok(r.body)),
                    Deserialization::RpcError(e) => (e.msg_id, Err(e.error.error_message.clone())),
                    _ => continue,
                };
                if let Some(i) = ids.iter().position(|x| *x == id) {
                    out[i] = Some(r);
                }
            }
        }
        out.into_iter().map(Option::unwrap).collect()
    }

    async fn call<R: RemoteCall>(&mut self, req: &R) -> Result<R::Return, String> {
        let ids = self.send(&[req.to_bytes()]).await;
        let body = self.answers(&ids).await.pop().unwrap()?;
        Ok(R::Return::from_bytes(&body).unwrap())
    }
}

#[tokio::test]
async fn ping_containers_gzip_and_errors() {
    let sim = Sim::start(SimConfig::default()).unwrap();
    let mut c = RawClient::connect(&sim).await;

    // ping -> bare pong matched to the ping's msg_id.
    let pong = c.call(&tl::functions::Ping { ping_id: 77 }).await.unwrap();
    let tl::enums::Pong::Pong(p) = pong;
    assert_eq!(p.ping_id, 77);

    // Before login: 401.
    let err = c
        .call(&tl::functions::updates::GetState {})
        .await
        .unwrap_err();
    assert_eq!(err, "AUTH_KEY_UNREGISTERED");

    // invokeWithLayer(initConnection(help.getConfig)) and a login, in one container.
    let init = tl::functions::InvokeWithLayer {
        layer: tl::LAYER,
        query: tl::functions::InitConnection {
            api_id: 1,
            device_model: "test".into(),
            system_version: "1".into(),
            app_version: "1".into(),
            system_lang_code: "en".into(),
            lang_pack: String::new(),
            lang_code: "en".into(),
            proxy: None,
            params: None,
            query: tl::functions::help::GetConfig {},
        },
    };
    let login = tl::functions::auth::ImportBotAuthorization {
        flags: 0,
        api_id: 1,
        api_hash: "h".into(),
        bot_auth_token: sim.bot_token(),
    };
    let ids = c.send(&[init.to_bytes(), login.to_bytes()]).await;
    let answers = c.answers(&ids).await;
    let tl::enums::Config::Config(cfg) =
        tl::enums::Config::from_bytes(answers[0].as_ref().unwrap()).unwrap();
    assert!(
        cfg.dc_options.is_empty(),
        "no DC options, or grammers leaves loopback"
    );
    assert!(answers[1].is_ok());

    // An unknown method: clean rpc_error, connection still usable.
    let err = c
        .call(&tl::functions::messages::GetDialogFilters {})
        .await
        .unwrap_err();
    assert_eq!(err, "METHOD_NOT_IMPLEMENTED_BY_TGSIM");

    // gzip in: a long message is compressed by grammers' mtp; gzip out: reading it back.
    let alice = sim.add_user(tgsim::UserSpec::new("Alice")).unwrap();
    sim.user_start_bot(alice, None).unwrap();
    let text = "all work and no play ".repeat(150);
    let hash = tgsim::world::access_hash(alice);
    let sent = c
        .call(&tl::functions::messages::SendMessage {
            no_webpage: false,
            silent: false,
            background: false,
            clear_draft: false,
            noforwards: false,
            update_stickersets_order: false,
            invert_media: false,
            allow_paid_floodskip: false,
            peer: tl::types::InputPeerUser {
                user_id: alice,
                access_hash: hash,
            }
            .into(),
            reply_to: None,
            message: text.clone(),
            random_id: 1,
            reply_markup: None,
            entities: None,
            schedule_date: None,
            schedule_repeat_period: None,
            send_as: None,
            quick_reply_shortcut: None,
            effect: None,
            allow_paid_stars: None,
            suggested_post: None,
            rich_message: None,
        })
        .await
        .unwrap();
    let tl::enums::Updates::UpdateShortSentMessage(s) = sent else {
        panic!("{sent:?}")
    };
    assert_eq!(sim.sent_to(alice)[0].text, text);
    let got = c
        .call(&tl::functions::messages::GetMessages {
            id: vec![tl::types::InputMessageId { id: s.id }.into()],
        })
        .await
        .unwrap();
    let tl::enums::messages::Messages::Messages(m) = got else {
        panic!()
    };
    assert!(matches!(&m.messages[0], tl::enums::Message::Message(x) if x.message == text));
    assert!(
        c.last_packet_len < text.len() / 2,
        "answer was gzip_packed on the wire"
    );
}
