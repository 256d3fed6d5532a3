#!/usr/bin/env python3
"""Report one action to tgtrack's relay endpoint (see docs/RELAY.md).

Standard library only. Run it like this:

    python3 docs/relay_example.py --url https://track.example.com/postbacks/relay \
        --offer 12 --secret S --token T --event-id order-1001

Use --tg-user-id instead of --token when you know the user's Telegram id
but not the start token. The secret can also come from the environment
variable TGTRACK_RELAY_SECRET, which keeps it out of your shell history.

Exit status: 0 when the event was accepted (200) or was already received
earlier (409 duplicate event), 1 for any other answer, 2 for bad arguments.
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Tgtrack-Signature value: HMAC-SHA256 over "<timestamp>.<body>".

    The key is the relay secret exactly as shown (its UTF-8 bytes); the
    message is the decimal timestamp, a dot, and the raw body bytes that are
    sent, byte for byte.
    """
    message = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return "sha256=" + digest


def build_body(offer_id, event_id, start_token=None, tg_user_id=None, occurred_at=None) -> bytes:
    payload = {"offer_id": offer_id, "event_id": event_id}
    if start_token is not None:
        payload["start_token"] = start_token
    else:
        payload["tg_user_id"] = tg_user_id
    if occurred_at is not None:
        payload["occurred_at"] = occurred_at
    # Serialise once and sign exactly these bytes.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def send(url: str, secret: str, body: bytes, timeout: float = 10.0):
    """POST the body; returns (HTTP status, response text)."""
    timestamp = int(time.time())  # fresh for every attempt, so re-sign on retry
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Tgtrack-Timestamp": str(timestamp),
            "X-Tgtrack-Signature": sign(secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:  # 4xx and 5xx still carry a reason
        return e.code, e.read().decode("utf-8", "replace")


def main() -> int:
    p = argparse.ArgumentParser(description="Report an action to tgtrack's relay endpoint.")
    p.add_argument("--url", required=True, help="the endpoint, e.g. https://track.example.com/postbacks/relay")
    p.add_argument("--offer", required=True, type=int, help="the offer id")
    p.add_argument("--secret", default=os.environ.get("TGTRACK_RELAY_SECRET"),
                   help="the offer's relay secret [default: $TGTRACK_RELAY_SECRET]")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--token", help="the start token your bot or mini app received")
    who.add_argument("--tg-user-id", type=int, help="the user's Telegram id (instead of --token)")
    p.add_argument("--event-id", required=True, help="your unique id for this event, 1-128 characters")
    p.add_argument("--occurred-at", type=int, help="when the action happened, unix seconds [optional]")
    p.add_argument("--dry-run", action="store_true", help="print the request instead of sending it")
    args = p.parse_args()

    if not args.secret:
        p.error("give --secret or set TGTRACK_RELAY_SECRET")
    if not 1 <= len(args.event_id) <= 128:
        p.error("--event-id must be 1 to 128 characters")

    body = build_body(args.offer, args.event_id, args.token, args.tg_user_id, args.occurred_at)

    if args.dry_run:
        ts = int(time.time())
        print("POST", args.url)
        print("Content-Type: application/json")
        print("X-Tgtrack-Timestamp:", ts)
        print("X-Tgtrack-Signature:", sign(args.secret, ts, body))
        print()
        print(body.decode("utf-8"))
        return 0

    try:
        status, text = send(args.url, args.secret, body)
    except (urllib.error.URLError, OSError) as e:
        # Network trouble: safe to retry later with the same event id.
        print(f"request failed: {e}", file=sys.stderr)
        return 1
    print(status, text)
    if status == 200:
        return 0
    if status == 409:
        print("already received earlier (duplicate event): nothing to do", file=sys.stderr)
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
