//! Fetching a URL item without letting it reach inside the network (SSRF): every address
//! a host resolves to is checked, the connection is pinned to a checked address (no DNS
//! rebinding between check and connect), every redirect is checked again, and size and
//! time are capped.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::error::{AppError, ErrorCode};

/// What a fetch may do.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    pub max_bytes: usize,
    pub timeout: Duration,
    pub max_redirects: usize,
    /// Addresses allowed although internal: only for tests against servers on this machine.
    pub allow_addresses: Vec<IpAddr>,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            max_bytes: 20 * 1024 * 1024,
            timeout: Duration::from_secs(20),
            max_redirects: 5,
            allow_addresses: Vec::new(),
        }
    }
}

/// A fetched page or file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The URL after redirects.
    pub url: String,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// Whether an address is one a URL item must never reach: loopback, private, link-local
/// (cloud metadata at 169.254.169.254), carrier-grade NAT, unspecified, multicast,
/// broadcast, and their IPv6 forms (IPv4-mapped addresses are checked as IPv4).
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_v4(v4),
            None => forbidden_v6(v6),
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..=127).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || a >= 240
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || ip
            .to_ipv4()
            .is_some_and(|v4| ip.segments()[..6].iter().all(|s| *s == 0) && forbidden_v4(v4))
}

fn refused(message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::Validation, message)
}

/// Resolves `url`'s host and returns a checked address to connect to.
async fn checked_address(url: &reqwest::Url, policy: &FetchPolicy) -> Result<SocketAddr, AppError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refused(format!(
            "Only http and https URLs can be fetched, not {}",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused("URLs with credentials are not fetched"));
    }
    let host = url
        .host_str()
        .ok_or_else(|| refused("The URL has no host"))?;
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| refused(format!("The host {host} could not be resolved: {e}")))?
        .collect();
    if addresses.is_empty() {
        return Err(refused(format!("The host {host} has no address")));
    }
    let bad = addresses
        .iter()
        .find(|a| is_forbidden(a.ip()) && !policy.allow_addresses.contains(&a.ip()));
    if let Some(bad) = bad {
        return Err(refused(format!(
            "The URL points to {}, a private, loopback or link-local address; only public addresses are fetched",
            bad.ip()
        )));
    }
    Ok(addresses[0])
}

/// Fetches `url` under `policy`, following (and re-checking) redirects.
pub async fn fetch(url: &str, policy: &FetchPolicy) -> Result<Fetched, AppError> {
    let mut current = reqwest::Url::parse(url)
        .map_err(|e| refused(format!("{url:?} is not a valid URL: {e}")))?;
    for _ in 0..=policy.max_redirects {
        let address = checked_address(&current, policy).await?;
        let host = current.host_str().unwrap_or_default().to_owned();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&host, address)
            .timeout(policy.timeout)
            .user_agent("ai-studio-fetcher/1.0")
            .build()
            .map_err(|e| AppError::internal("The page fetcher could not be set up").caused_by(e))?;
        let mut response = client.get(current.clone()).send().await.map_err(|e| {
            AppError::new(
                ErrorCode::Unavailable,
                format!("Fetching {current} failed: {e}"),
            )
        })?;
        if response.status().is_redirection() {
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| refused("A redirect without a Location"))?;
            current = current
                .join(location)
                .map_err(|e| refused(format!("A redirect to an invalid URL: {e}")))?;
            continue;
        }
        if !response.status().is_success() {
            return Err(AppError::new(
                ErrorCode::Validation,
                format!("{current} answered HTTP {}", response.status()),
            ));
        }
        if response
            .content_length()
            .is_some_and(|n| n > policy.max_bytes as u64)
        {
            return Err(AppError::new(
                ErrorCode::TooLarge,
                format!("The page is over {} bytes", policy.max_bytes),
            ));
        }
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            AppError::new(
                ErrorCode::Unavailable,
                format!("Reading {current} failed: {e}"),
            )
        })? {
            if bytes.len() + chunk.len() > policy.max_bytes {
                return Err(AppError::new(
                    ErrorCode::TooLarge,
                    format!("The page is over {} bytes", policy.max_bytes),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(Fetched {
            url: current.to_string(),
            content_type,
            bytes,
        });
    }
    Err(refused(format!(
        "More than {} redirects",
        policy.max_redirects
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_forbidden_public_ones_are_not() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(is_forbidden(bad.parse().unwrap()), "{bad} allowed");
        }
        for good in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_forbidden(good.parse().unwrap()), "{good} forbidden");
        }
    }

    #[tokio::test]
    async fn loopback_and_metadata_urls_are_refused_before_connecting() {
        let policy = FetchPolicy::default();
        for url in [
            "http://127.0.0.1:9/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/",
            "http://localhost:9/",
            "http://0x7f000001/",
            "file:///etc/passwd",
            "http://user:pw@example.com/",
        ] {
            let error = fetch(url, &policy).await.unwrap_err();
            assert_eq!(
                error.code,
                ErrorCode::Validation,
                "{url}: {}",
                error.message
            );
        }
    }
}
