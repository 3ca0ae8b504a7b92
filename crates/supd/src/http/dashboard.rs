//! The dashboard at `/`: one hand-written page (HTML, CSS and plain-DOM JavaScript in
//! `dashboard/`), embedded in the binary, so there is nothing to install and nothing is
//! built at run time.
//!
//! This module owns the page's files and how they are served (types, no caching across
//! supd versions, a content security policy that lets the page talk to this supd only).
//! Everything the page shows it gets from the JSON API ([`super::api`]): the status once,
//! state changes live over `/api/events`, CPU and memory once a second while the page is
//! visible, a program's log over `/api/programs/NAME/logs?follow=1`.

use hyper::Response;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};

use super::Body;

/// A file of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Asset {
    Page,
    Style,
    Script,
}

impl Asset {
    fn file(self) -> (&'static str, &'static str) {
        match self {
            Asset::Page => (
                include_str!("dashboard/index.html"),
                "text/html;charset=utf-8",
            ),
            Asset::Style => (
                include_str!("dashboard/dashboard.css"),
                "text/css;charset=utf-8",
            ),
            Asset::Script => (
                include_str!("dashboard/dashboard.js"),
                "text/javascript;charset=utf-8",
            ),
        }
    }
}

/// The dashboard's file at `path`, if it is one.
pub(super) fn route(path: &str) -> Option<Asset> {
    match path {
        "/" | "/index.html" => Some(Asset::Page),
        "/dashboard.css" => Some(Asset::Style),
        "/dashboard.js" => Some(Asset::Script),
        _ => None,
    }
}

/// What the page may load and talk to: this supd only; no inline script, no frames.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

pub(super) fn serve(asset: Asset) -> Response<Body> {
    let (text, content_type) = asset.file();
    let page = Response::new(Body::Full(Some(Bytes::from_static(text.as_bytes()))));
    // Revalidated every time: a new supd serves its own page at once.
    let mut res = super::api::typed(page, content_type, "no-cache");
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(route("/"), Some(Asset::Page));
        assert_eq!(route("/index.html"), Some(Asset::Page));
        assert_eq!(route("/dashboard.js"), Some(Asset::Script));
        assert_eq!(route("/dashboard.css"), Some(Asset::Style));
        assert_eq!(route("/dashboard"), None);
    }

    #[test]
    fn the_page_loads_its_own_files() {
        let (page, _) = Asset::Page.file();
        assert!(page.contains("src=\"dashboard.js\""));
        assert!(page.contains("href=\"dashboard.css\""));
        // Inline scripts would be refused by the content security policy.
        assert!(!page.contains("<script>"));
    }
}
