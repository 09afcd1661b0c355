//! Security review finding 10: the webhook client followed `HTTP(S)_PROXY` from the
//! environment, and a proxy connects on our behalf, past the connect-time address check. A
//! process of its own, since it sets the proxy variables for everything in it.

use std::io::{Read, Write};
use std::net::TcpListener;

#[tokio::test]
async fn the_webhook_client_ignores_proxy_variables() {
    // A receiver that answers 204, and a "proxy" address where nothing listens.
    let receiver = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = receiver.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = receiver.accept() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
    ] {
        std::env::set_var(var, format!("http://{closed}"));
    }
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");
    let lookup = runback::webhooks::system_lookup();
    let client = runback::webhooks::http_client(true, lookup).unwrap();
    let answer = client
        .post(format!("http://{address}/hooks"))
        .body("{}")
        .send()
        .await
        .expect("sent straight to the receiver, not through the proxy");
    assert_eq!(answer.status(), 204);
}
