//! Second security round, the parts outside the hub: invisible-only text
//! (§3), look-alike reserved names (§3), and owner-only permissions on the
//! files the server writes.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn text_of_only_invisible_characters_is_invalid_and_not_delivered() {
    let server = TestServer::start().await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    alice.settle().await;
    let blank = [
        "\u{200b}",
        "\u{200b}\u{200b}\u{200b}\u{200b}",
        "\u{3164}",
        "\u{3164}\u{3164}",
        "\u{200e}",
        "\u{200f}",
        "\u{200e}\u{200f}\u{200e}",
        " ",
        "\n",
        "  \n \n\t ",
        "\u{feff}\u{2060}\u{2800}\u{115f}\u{1160}\u{ffa0}",
    ];
    for text in blank {
        let reply = alice
            .error(
                json!({"type": "send", "chat": "#public", "text": text}),
                "invalid_text",
            )
            .await;
        assert!(reply.get("msg_id").is_none(), "{reply}");
    }
    alice.assert_open().await;
    alice.expect_silence().await;
    bob.expect_silence().await;
    let history = bob
        .request(json!({"type": "history", "chat": "#public"}))
        .await;
    assert_eq!(history["messages"], json!([]), "nothing stored");

    // One visible character is enough, and the invisible one is kept.
    let id = alice.say_id("#public", "a\u{200b}").await;
    for who in [&mut alice, &mut bob] {
        let m = who.expect_message("#public").await;
        assert_eq!(m["msg_id"], json!(id));
        assert_eq!(m["text"], "a\u{200b}", "delivered exactly as sent");
    }
    let history = bob
        .request(json!({"type": "history", "chat": "#public"}))
        .await;
    assert_eq!(history["messages"][0]["text"], "a\u{200b}");
}

#[tokio::test]
async fn names_that_look_like_reserved_ones_cannot_be_registered() {
    let server = TestServer::start().await;
    for name in ["adm1n", "ADM1N", "r00t", "pub1ic", "adrnin", "systern"] {
        let mut c = server.client().await;
        c.error(
            json!({"type": "register", "user": name, "password": PASSWORD}),
            "invalid_name",
        )
        .await;
        // Refused before any account was made: logging in finds nothing.
        c.error(
            json!({"type": "login", "user": name, "password": PASSWORD}),
            "bad_credentials",
        )
        .await;
    }
    // A name that only contains a reserved one is fine.
    server.user("administrator").await;
}
