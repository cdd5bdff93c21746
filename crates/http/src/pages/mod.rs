//! The few server-rendered HTML pages (outside `/api`): plain HTML, no
//! script, no external asset, every echoed value escaped, and the same
//! strict headers on every answer ([`page`]).

mod invite_decline;
pub(crate) mod openapi;
mod revert_email;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/account/revert-email", web::get().to(revert_email::show))
        .route(
            "/account/revert-email",
            web::post().to(revert_email::submit),
        )
        .route("/invite/decline", web::get().to(invite_decline::show))
        .route("/invite/decline", web::post().to(invite_decline::submit));
}

/// The `Content-Security-Policy` of every page: nothing may load, inline
/// styles only, forms post to this origin only, never framed.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; \
                              form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;\
                     padding:0 1rem;line-height:1.5;color:#222}\
                     button{font-size:1rem;padding:.5rem 1.25rem;cursor:pointer}";

/// A page: `title` as heading and `body` (already escaped HTML) under it,
/// with the strict headers: HTML in UTF-8, the CSP, no referrer (a token
/// may be in the URL), no caching, no sniffing.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let title = escape(title);
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>{title}</h1>\n{body}\n</body>\n</html>\n"
    );
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .body(html)
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped, for element content and
/// quoted attribute values alike.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_every_character_that_could_leave_text_or_an_attribute() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape("plain-Text_42"), "plain-Text_42");
    }
}
