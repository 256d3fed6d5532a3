//! Builders for layer-230 TL objects.
//!
//! Layer-230 structs have no `Default` and dozens of optional fields (simulator.md §4.6), so a
//! "blank" object is made by deserializing the constructor's mandatory fields with every flag
//! word set to zero: all optional fields come out `None`/`false`. Callers then set what they need.

use grammers_tl_types::{self as tl, Deserializable, Serializable};

/// Deserializes `T` from the bytes written by `fill` (the mandatory fields, flags = 0).
pub fn blank<T: Deserializable>(fill: impl FnOnce(&mut Vec<u8>)) -> T {
    let mut buf = Vec::new();
    fill(&mut buf);
    T::from_bytes(&buf).expect("blank TL object layout")
}

fn empty_chat_photo(b: &mut Vec<u8>) {
    tl::enums::ChatPhoto::Empty.serialize(b);
}

pub fn user(id: i64) -> tl::types::User {
    blank(|b| {
        0u32.serialize(b);
        0u32.serialize(b);
        id.serialize(b);
    })
}

pub fn channel(id: i64, title: &str, date: i32) -> tl::types::Channel {
    blank(|b| {
        0u32.serialize(b);
        0u32.serialize(b);
        id.serialize(b);
        title.to_string().serialize(b);
        empty_chat_photo(b);
        date.serialize(b);
    })
}

pub fn chat(id: i64, title: &str, count: i32, date: i32) -> tl::types::Chat {
    blank(|b| {
        0u32.serialize(b);
        id.serialize(b);
        title.to_string().serialize(b);
        empty_chat_photo(b);
        count.serialize(b);
        date.serialize(b);
        1i32.serialize(b);
    })
}

pub fn message(id: i32, peer: tl::enums::Peer, date: i32, text: &str) -> tl::types::Message {
    blank(|b| {
        0u32.serialize(b);
        0u32.serialize(b);
        id.serialize(b);
        peer.serialize(b);
        date.serialize(b);
        text.to_string().serialize(b);
    })
}

pub fn message_service(
    id: i32,
    peer: tl::enums::Peer,
    date: i32,
    action: tl::enums::MessageAction,
) -> tl::types::MessageService {
    blank(|b| {
        0u32.serialize(b);
        id.serialize(b);
        peer.serialize(b);
        date.serialize(b);
        action.serialize(b);
    })
}

pub fn notify_settings() -> tl::enums::PeerNotifySettings {
    tl::enums::PeerNotifySettings::Settings(blank(|b| 0u32.serialize(b)))
}

pub fn peer_settings() -> tl::enums::PeerSettings {
    tl::enums::PeerSettings::Settings(blank(|b| 0u32.serialize(b)))
}

pub fn user_full(id: i64) -> tl::types::UserFull {
    blank(|b| {
        0u32.serialize(b);
        0u32.serialize(b);
        id.serialize(b);
        peer_settings().serialize(b);
        notify_settings().serialize(b);
        0i32.serialize(b); // common_chats_count
    })
}

pub fn channel_full(id: i64, about: &str, pts: i32) -> tl::types::ChannelFull {
    blank(|b| {
        0u32.serialize(b);
        0u32.serialize(b);
        id.serialize(b);
        about.to_string().serialize(b);
        0i32.serialize(b); // read_inbox_max_id
        0i32.serialize(b); // read_outbox_max_id
        0i32.serialize(b); // unread_count
        tl::enums::Photo::Empty(tl::types::PhotoEmpty { id: 0 }).serialize(b);
        notify_settings().serialize(b);
        Vec::<tl::enums::BotInfo>::new().serialize(b);
        pts.serialize(b);
    })
}

pub fn chat_full(id: i64, participants: tl::enums::ChatParticipants) -> tl::types::ChatFull {
    blank(|b| {
        0u32.serialize(b);
        id.serialize(b);
        String::new().serialize(b);
        participants.serialize(b);
        notify_settings().serialize(b);
    })
}

pub fn config(date: i32) -> tl::types::Config {
    blank(|b| {
        0u32.serialize(b);
        date.serialize(b);
        (date + 3600).serialize(b); // expires
        false.serialize(b); // test_mode
        2i32.serialize(b); // this_dc
                           // No DC options: grammers would overwrite the session's loopback address with any
                           // `static` option it receives (simulator.md §2.8).
        Vec::<tl::enums::DcOption>::new().serialize(b);
        String::new().serialize(b); // dc_txt_domain_name
        let limits: [i32; 17] = [
            200, 200000, 100, 120000, 5000, 30000, 300000, 1500, 25000, 60000, 2, 172800,
            2147483647, 2147483647, 3600, 20, 604800,
        ];
        for v in limits {
            v.serialize(b);
        }
        let call_timeouts: [i32; 4] = [20000, 90000, 30000, 10000];
        for v in call_timeouts {
            v.serialize(b);
        }
        "https://t.me/".to_string().serialize(b);
        1024i32.serialize(b); // caption_length_max
        4096i32.serialize(b); // message_length_max
        2i32.serialize(b); // webfile_dc_id
    })
}

pub fn invite(link: &str, admin_id: i64, date: i32) -> tl::types::ChatInviteExported {
    blank(|b| {
        0u32.serialize(b);
        link.to_string().serialize(b);
        admin_id.serialize(b);
        date.serialize(b);
    })
}

pub fn admin_rights(r: &crate::AdminRights) -> tl::enums::ChatAdminRights {
    tl::enums::ChatAdminRights::Rights(tl::types::ChatAdminRights {
        change_info: r.change_info,
        post_messages: r.post_messages,
        edit_messages: r.edit_messages,
        delete_messages: r.delete_messages,
        ban_users: r.ban_users,
        invite_users: r.invite_users,
        pin_messages: r.pin_messages,
        add_admins: r.add_admins,
        anonymous: false,
        manage_call: false,
        other: true,
        manage_topics: false,
        post_stories: false,
        edit_stories: false,
        delete_stories: false,
        manage_direct_messages: false,
        manage_ranks: false,
        manage_linked_peers: false,
        manage_welcome_messages: false,
    })
}

pub fn boost(id: &str, user_id: i64, date: i32) -> tl::types::Boost {
    let mut boost: tl::types::Boost = blank(|b| {
        0u32.serialize(b);
        id.to_string().serialize(b);
        date.serialize(b);
        (date + 86400 * 30).serialize(b);
    });
    boost.user_id = Some(user_id);
    boost
}

pub fn stars_transaction(
    id: &str,
    amount: i64,
    date: i32,
    peer: tl::enums::StarsTransactionPeer,
) -> tl::types::StarsTransaction {
    blank(|b| {
        0u32.serialize(b);
        id.to_string().serialize(b);
        tl::enums::StarsAmount::Amount(tl::types::StarsAmount { amount, nanos: 0 }).serialize(b);
        date.serialize(b);
        peer.serialize(b);
    })
}

pub fn text_entities(text: &str) -> tl::enums::TextWithEntities {
    tl::enums::TextWithEntities::Entities(tl::types::TextWithEntities {
        text: text.to_string(),
        entities: Vec::new(),
    })
}

/// `rpc_error#2144ca19 error_code:int error_message:string`.
pub fn rpc_error(code: i32, message: &str) -> Vec<u8> {
    let mut b = Vec::new();
    0x2144ca19u32.serialize(&mut b);
    code.serialize(&mut b);
    message.to_string().serialize(&mut b);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_round_trip() {
        let mut u = user(5);
        u.first_name = Some("A".into());
        let bytes = tl::enums::User::User(u.clone()).to_bytes();
        assert_eq!(tl::enums::User::from_bytes(&bytes).unwrap(), u.into());
        let c = config(1);
        assert!(c.dc_options.is_empty());
        let m = message(
            3,
            tl::enums::Peer::User(tl::types::PeerUser { user_id: 1 }),
            9,
            "hi",
        );
        assert_eq!(m.message, "hi");
        let _ = channel_full(1, "", 1);
        let _ = user_full(1);
        let _ = boost("b", 1, 1);
        let _ = invite("l", 1, 1);
    }
}
