//! Signed webhooks: a JSON body POSTed with `X-Gridwatch-Event` and `X-Gridwatch-Signature:
//! sha256=<hex HMAC-SHA256 of the body with the shared secret>`, as escalations and the 12345
//! exchange send them (docs/deploy.md shows receivers how to check one).

use crate::domain::auth::hmac_sha256;
use std::time::Duration;

/// One signed POST; Ok when the receiver answered 2xx. Blocking (ureq): run it off the runtime.
/// `https://` is checked against the system's certificate authorities (a city's own CA goes into
/// the system store, or `SSL_CERT_FILE`); redirects are not followed.
pub fn post_signed(url: &str, event: &str, secret: &str, body: &[u8]) -> Result<(), String> {
    let signature = hex::encode(hmac_sha256(secret.as_bytes(), body));
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .redirects(0)
        .build();
    let sent = agent
        .post(url)
        .set("Content-Type", "application/json")
        .set("X-Gridwatch-Event", event)
        .set("X-Gridwatch-Signature", &format!("sha256={signature}"))
        .send_bytes(body);
    match sent {
        Ok(answer) if (200..300).contains(&answer.status()) => Ok(()),
        Ok(answer) => Err(format!("answered {}", answer.status())),
        Err(ureq::Error::Status(code, _)) => Err(format!("answered {code}")),
        Err(e) => Err(e.to_string()),
    }
}
