//! Evidence files in an S3-compatible bucket (MinIO, Ceph RGW, AWS S3 …): path-style addresses
//! (`ENDPOINT/BUCKET/PREFIX/ab/abcdef…`) signed with AWS Signature Version 4, the one scheme every
//! S3-compatible store accepts. Files are content-addressed, so a file already there is never
//! written again.

use super::objects::{object_name, Variant};
use crate::domain::auth::hmac_sha256;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::time::Duration;
use time::OffsetDateTime;

/// One bucket and the key pair that may read and write it.
#[derive(Clone)]
pub struct Bucket {
    /// `http(s)://host[:port]`, no trailing slash.
    endpoint: String,
    host: String,
    bucket: String,
    /// Empty, or ending with `/`.
    prefix: String,
    region: String,
    access_key: String,
    secret_key: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bucket({})", self.describe()) // never the secret
    }
}

/// Largest object read back: well above the 20 MiB upload limit, a guard against a wrong bucket.
const MAX_OBJECT_BYTES: u64 = 64 * 1024 * 1024;

impl Bucket {
    /// A bucket from `http(s)://host[:port]/bucket[/prefix]`.
    pub fn new(url: &str, region: &str, access_key: &str, secret_key: &str) -> Result<Self, String> {
        let (scheme, rest) = url
            .split_once("://")
            .filter(|(s, _)| *s == "http" || *s == "https")
            .ok_or_else(|| format!("{url:?}: give the bucket as http(s)://host[:port]/bucket[/prefix]"))?;
        let (host, path) = rest.split_once('/').ok_or_else(|| format!("{url:?}: no bucket after the host"))?;
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if host.is_empty() || !bucket_ok {
            return Err(format!("{url:?}: a bucket name is 3-63 characters of a-z, 0-9, '-' and '.'"));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b)) {
            return Err(format!("{url:?}: the prefix may hold only letters, digits, '-', '_', '.' and '/'"));
        }
        if access_key.is_empty() || secret_key.is_empty() {
            return Err("an S3 bucket needs GRIDWATCH_S3_ACCESS_KEY and GRIDWATCH_S3_SECRET_KEY".into());
        }
        Ok(Self {
            endpoint: format!("{scheme}://{host}"),
            host: host.to_string(),
            bucket: bucket.to_string(),
            prefix: if prefix.is_empty() { String::new() } else { format!("{prefix}/") },
            region: region.to_string(),
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            agent: ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build(),
        })
    }

    pub fn describe(&self) -> String {
        format!("{}/{}/{}", self.endpoint, self.bucket, self.prefix)
    }

    /// The object's path on the endpoint: `/bucket/prefix/ab/abcdef…`.
    fn path(&self, sha256: &str, variant: Variant) -> std::io::Result<String> {
        let name = object_name(sha256, variant).ok_or_else(|| std::io::Error::other("not a SHA-256"))?;
        Ok(format!("/{}/{}{name}", self.bucket, self.prefix))
    }

    pub fn put(&self, sha256: &str, variant: Variant, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path(sha256, variant)?;
        if self.request("HEAD", &path, &[])?.is_some() {
            return Ok(()); // content-addressed: what is there is this very file
        }
        let response = self.request("PUT", &path, bytes)?;
        response.map(drop).ok_or_else(|| std::io::Error::other(format!("{path}: the bucket does not exist")))
    }

    pub fn get(&self, sha256: &str, variant: Variant) -> std::io::Result<Option<Vec<u8>>> {
        let path = self.path(sha256, variant)?;
        let Some(response) = self.request("GET", &path, &[])? else { return Ok(None) };
        let mut bytes = Vec::new();
        response.into_reader().take(MAX_OBJECT_BYTES).read_to_end(&mut bytes)?;
        Ok(Some(bytes))
    }

    /// A signed request; `None` when the object (or bucket) is not there.
    fn request(&self, method: &str, path: &str, body: &[u8]) -> std::io::Result<Option<ureq::Response>> {
        let payload = hex::encode(Sha256::digest(body));
        let signed = sign(
            &Credentials { access_key: &self.access_key, secret_key: &self.secret_key, region: &self.region },
            method,
            path,
            &[("host", &self.host)],
            &payload,
            OffsetDateTime::now_utc(),
        );
        let mut request = self.agent.request(method, &format!("{}{path}", self.endpoint));
        for (name, value) in &signed {
            request = request.set(name, value);
        }
        let answer = if method == "PUT" { request.send_bytes(body) } else { request.call() };
        match answer {
            Ok(response) => Ok(Some(response)),
            Err(ureq::Error::Status(404, _)) => Ok(None),
            Err(ureq::Error::Status(code, response)) => {
                let text = response.into_string().unwrap_or_default();
                let reason = text.split("<Message>").nth(1).and_then(|m| m.split('<').next()).unwrap_or("");
                Err(std::io::Error::other(format!("S3 {method} {path}: HTTP {code} {reason}")))
            }
            Err(e) => Err(std::io::Error::other(format!("S3 {method} {path}: {e}"))),
        }
    }
}

struct Credentials<'a> {
    access_key: &'a str,
    secret_key: &'a str,
    region: &'a str,
}

/// AWS Signature Version 4 for S3 (header form): the headers to send — `x-amz-date`,
/// `x-amz-content-sha256` and `Authorization` — given the other headers to sign (`host` first of
/// all) and the payload's SHA-256 in hex. `path` must be URI-encoded already (ours need none).
fn sign(
    key: &Credentials<'_>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    payload_sha256: &str,
    at: OffsetDateTime,
) -> Vec<(String, String)> {
    let date = format!("{:04}{:02}{:02}", at.year(), u8::from(at.month()), at.day());
    let stamp = format!("{date}T{:02}{:02}{:02}Z", at.hour(), at.minute(), at.second());
    let mut signed: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_string()))
        .chain([
            ("x-amz-content-sha256".to_string(), payload_sha256.to_string()),
            ("x-amz-date".to_string(), stamp.clone()),
        ])
        .collect();
    signed.sort();
    let names = signed.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(";");
    let canonical_headers: String = signed.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let canonical = format!("{method}\n{path}\n\n{canonical_headers}\n{names}\n{payload_sha256}");
    let scope = format!("{date}/{}/s3/aws4_request", key.region);
    let to_sign = format!("AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let mut signing_key = hmac_sha256(format!("AWS4{}", key.secret_key).as_bytes(), date.as_bytes());
    for part in [key.region, "s3", "aws4_request"] {
        signing_key = hmac_sha256(&signing_key, part.as_bytes());
    }
    let signature = hex::encode(hmac_sha256(&signing_key, to_sign.as_bytes()));
    let authorization =
        format!("AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={names}, Signature={signature}", key.access_key);
    // `host` is set by the HTTP client from the URL.
    let mut out: Vec<(String, String)> = signed.into_iter().filter(|(n, _)| n != "host").collect();
    out.push(("authorization".to_string(), authorization));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_aws_s3_documentation_example() {
        // "Example: GET Object" of the S3 Signature Version 4 documentation (header form).
        let key = Credentials {
            access_key: "AKIAIOSFODNN7EXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
        };
        let at = time::macros::datetime!(2013-05-24 00:00:00 UTC);
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let headers = sign(
            &key,
            "GET",
            "/test.txt",
            &[("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
            empty,
            at,
        );
        let authorization = &headers.iter().find(|(n, _)| n == "authorization").expect("signed").1;
        assert_eq!(
            authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn bucket_addresses_are_checked() {
        let bucket = Bucket::new("http://127.0.0.1:9000/evidence/city-a", "us-east-1", "k", "s").expect("valid");
        assert_eq!(bucket.describe(), "http://127.0.0.1:9000/evidence/city-a/");
        assert_eq!(
            bucket.path(&"ab".repeat(32), Variant::Thumbnail).expect("path"),
            format!("/evidence/city-a/ab/{}.thumb.jpg", "ab".repeat(32))
        );
        assert!(bucket.path("../x", Variant::Original).is_err());
        assert!(Bucket::new("ftp://h/b", "r", "k", "s").is_err());
        assert!(Bucket::new("http://h/B!", "r", "k", "s").is_err());
        assert!(Bucket::new("http://h/bucket", "r", "", "s").is_err());
        let secret = Bucket::new("https://s3.example.org/b-1", "r", "key", "TOPSECRET").expect("valid");
        assert!(!format!("{secret:?}").contains("TOPSECRET"), "the secret stays out of logs");
    }
}
