//! The overview as a server-rendered page: counts first, then the offending accounts, then the
//! collection jobs (failing first, filtered and paged). No script and no external asset: a form
//! filters the jobs, links page and open a section's whole list, and it reads on a phone.

use std::fmt::Write as _;
use std::time::SystemTime;

use super::model::{ExceptionRow, Item, JobState, Overview, Query, Section, PAGE};
use crate::collectors::CollectorKind;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0 auto;padding:1em;max-width:90em;color:#222}\
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin-top:1.6em}\
nav a{margin-right:1em}.meta{color:#555}\
.cards{display:flex;flex-wrap:wrap;gap:.6em;margin:1em 0}\
.card{display:block;min-width:10em;flex:1 1 12em;padding:.6em .8em;border:1px solid #ccc;border-radius:6px;text-decoration:none;color:inherit}\
.card .n{display:block;font-size:1.8em;font-weight:600}.card.bad{border-color:#b00;background:#fff4f4}.card.bad .n{color:#b00}\
.card.good .n{color:#070}\
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}\
td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f6f6f6}\
td.msg{max-width:40em;word-break:break-word}.ok{color:#070}.err{color:#b00}.muted{color:#777}\
form{display:flex;flex-wrap:wrap;gap:.5em;align-items:end;margin:.5em 0}label{display:flex;flex-direction:column;font-size:.85em}\
.pager a,.pager span{margin-right:.8em}@media (max-width:40em){body{padding:.5em}.card{flex:1 1 40%;min-width:0}td,th{font-size:.85em;padding:3px 5px}td.msg{min-width:14em}}";

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

/// A timestamp as UTC `YYYY-MM-DD HH:MM:SSZ`.
pub fn utc(t: SystemTime) -> String {
    let secs = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(_) => 0,
    };
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn seen(t: Option<SystemTime>, now: SystemTime) -> String {
    match t {
        Some(t) => {
            let ago = now.duration_since(t).map(|d| d.as_secs()).unwrap_or(0);
            format!("{} <span class=\"muted\">({ago}s ago)</span>", utc(t))
        }
        None => "never".into(),
    }
}

fn account(id: &str, name: Option<&str>) -> String {
    match name {
        Some(n) if !n.is_empty() => format!("{} <span class=\"muted\">{}</span>", esc(n), esc(id)),
        _ => esc(id),
    }
}

fn items_table(h: &mut String, items: &[Item], now: SystemTime) {
    h.push_str("<div class=\"scroll\"><table><tr><th>account</th><th>region</th><th>what</th><th>code</th><th>message</th><th>seen</th></tr>");
    for i in items {
        let _ = write!(
            h,
            "<tr class=\"item{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"msg\">{}</td><td>{}</td></tr>",
            if i.exception.is_some() { " excepted" } else { "" },
            account(&i.account_id, i.account_name.as_deref()),
            esc(&i.region),
            esc(&i.subject),
            match &i.exception {
                Some(e) => format!(
                    "{} <a class=\"exception\" href=\"/#exceptions\">excepted: {}</a>",
                    esc(&i.code),
                    esc(e)
                ),
                None => esc(&i.code),
            },
            esc(&i.message),
            seen(i.seen, now)
        );
    }
    h.push_str("</table></div>");
}

/// The configuration's exceptions: accepted gaps, apart from what needs attention.
fn exceptions_table(h: &mut String, rows: &[ExceptionRow]) {
    let overdue = rows.iter().filter(|e| e.overdue).count();
    let _ = write!(
        h,
        "<h2 id=\"exceptions\">Exceptions <span class=\"muted\">(<span class=\"section-count\">{}</span>, <span id=\"exceptions-overdue\">{overdue}</span> overdue for review)</span></h2>",
        rows.len()
    );
    if rows.is_empty() {
        h.push_str("<p class=\"muted\">None: the configuration accepts no gap (<code>exceptions</code>).</p>");
        return;
    }
    h.push_str("<p class=\"muted\">Accepted gaps: the alert rules skip them, and the items they cover are marked <em>excepted</em> above.</p>");
    h.push_str("<div class=\"scroll\"><table id=\"exception-table\"><tr><th>exception</th><th>scope</th><th>signal</th><th>owner</th><th>reason</th><th>review</th><th>covers</th></tr>");
    for e in rows {
        let _ = write!(
            h,
            "<tr class=\"exception{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"msg\">{}</td><td{}>{}</td><td>{} accounts, {} items</td></tr>",
            if e.overdue { " overdue" } else { "" },
            esc(&e.name),
            esc(&e.scope),
            esc(&e.signal),
            esc(&e.owner),
            esc(&e.reason),
            if e.overdue { " class=\"err\"" } else { "" },
            if e.overdue {
                format!("{} (overdue)", esc(&e.review))
            } else {
                esc(&e.review)
            },
            e.accounts,
            e.items
        );
    }
    h.push_str("</table></div>");
}

fn pager(h: &mut String, page: usize, pages: usize, link: impl Fn(usize) -> String) {
    if pages <= 1 {
        return;
    }
    h.push_str("<p class=\"pager\">");
    if page > 0 {
        let _ = write!(
            h,
            "<a rel=\"prev\" href=\"{}\">previous</a>",
            esc(&link(page))
        );
    }
    let _ = write!(h, "<span>page {} of {pages}</span>", page + 1);
    if page + 1 < pages {
        let _ = write!(
            h,
            "<a rel=\"next\" href=\"{}\">next</a>",
            esc(&link(page + 2))
        );
    }
    h.push_str("</p>");
}

fn head(h: &mut String, o: &Overview, title: &str) {
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head><body>\
<h1>{}</h1><nav><a href=\"/\">overview</a><a href=\"/metrics\">/metrics</a><a href=\"/status.json\">/status.json</a><a href=\"/ready\">/ready</a></nav>\
<p class=\"meta\">{} accounts, {} collection jobs (<span id=\"jobs-failing\">{}</span> failing); as of {}.</p>",
        esc(title),
        esc(title),
        o.accounts,
        o.jobs,
        o.jobs_failing,
        utc(o.generated_at)
    );
    for (target, l) in o.listings.iter().filter(|(_, l)| l.finished.is_none()) {
        let _ = write!(
            h,
            "<p class=\"meta\" id=\"listing\">Listing the organization ({}): {} accounts in {} pages so far; \
the accounts listed are collected as they come.</p>",
            esc(target),
            l.accounts,
            l.pages
        );
    }
}

fn section_heading(h: &mut String, s: &Section) {
    let _ = write!(
        h,
        "<h2 id=\"{}\">{} <span class=\"muted\">(<span class=\"section-count\">{}</span>)</span></h2>",
        s.id,
        esc(s.title),
        s.items.len()
    );
}

/// The page for `q`.
pub fn render(o: &Overview, q: &Query) -> String {
    let now = o.generated_at;
    let mut h = String::with_capacity(64 * 1024);
    if let Some(s) = q
        .section
        .as_deref()
        .and_then(|id| o.sections.iter().find(|s| s.id == id))
    {
        head(&mut h, o, &format!("posture-exporter: {}", s.title));
        section_heading(&mut h, s);
        let _ = write!(
            h,
            "<p class=\"muted\">Counted as <code>{}</code>.</p>",
            esc(s.counts)
        );
        let (range, pages) = Overview::page_of(s.items.len(), q.page);
        if s.items.is_empty() {
            h.push_str("<p class=\"ok\">Nothing.</p>");
        } else {
            items_table(&mut h, &s.items[range], now);
        }
        pager(&mut h, q.page.min(pages - 1), pages, |p| {
            format!("/?section={}&page={p}", s.id)
        });
        h.push_str("</body></html>\n");
        return h;
    }

    head(&mut h, o, "posture-exporter: what needs attention");
    h.push_str("<div class=\"cards\">");
    for s in &o.sections {
        let n = s.items.len();
        let _ = write!(
            h,
            "<a class=\"card {}\" id=\"count-{}\" href=\"/?section={}\"><span class=\"n\">{n}</span>{}</a>",
            if n > 0 { "bad" } else { "good" },
            s.id,
            s.id,
            esc(s.title)
        );
    }
    h.push_str("</div>");
    for s in o.sections.iter().filter(|s| !s.items.is_empty()) {
        section_heading(&mut h, s);
        items_table(&mut h, &s.items[..s.items.len().min(PAGE)], now);
        if s.items.len() > PAGE {
            let _ = write!(
                h,
                "<p><a href=\"/?section={}\">all {} →</a></p>",
                s.id,
                s.items.len()
            );
        }
    }

    exceptions_table(&mut h, &o.exceptions);

    // The collection jobs.
    h.push_str("<h2 id=\"jobs\">Collection jobs</h2><form method=\"get\" action=\"/#jobs\"><label>collector<select name=\"collector\"><option value=\"\">any</option>");
    for k in CollectorKind::ALL {
        let _ = write!(
            h,
            "<option{}>{}</option>",
            if q.collector.as_deref() == Some(k.name()) {
                " selected"
            } else {
                ""
            },
            k.name()
        );
    }
    let _ = write!(
        h,
        "</select></label><label>account (id or name)<input name=\"account\" value=\"{}\"></label>\
<label>region<input name=\"region\" value=\"{}\" size=\"12\"></label><label>state<select name=\"state\"><option value=\"\">any</option>",
        esc(q.account.as_deref().unwrap_or("")),
        esc(q.region.as_deref().unwrap_or(""))
    );
    for s in [JobState::Failing, JobState::Ok, JobState::Pending] {
        let _ = write!(
            h,
            "<option{}>{}</option>",
            if q.state == Some(s) { " selected" } else { "" },
            s.as_str()
        );
    }
    h.push_str("</select></label><button type=\"submit\">filter</button></form>");
    let (range, pages) = Overview::page_of(o.matching_len(), q.page);
    let _ = write!(
        h,
        "<p class=\"meta\"><span id=\"jobs-matching\">{}</span> matching jobs.</p>",
        o.matching_len()
    );
    h.push_str("<div class=\"scroll\"><table id=\"job-table\"><tr><th>collector</th><th>account</th><th>region</th><th>state</th><th>last success</th><th>duration</th><th>series</th><th>details</th></tr>");
    for j in o.matching_page(range) {
        let r = &j.row;
        let error = r.last_error();
        let (class, state) = match (&error, j.state) {
            (Some(e), _) => (
                "err",
                format!("{} ({} in a row)", e.kind.as_str(), r.consecutive_failures),
            ),
            (None, JobState::Pending) => ("", "pending".to_string()),
            (None, _) => ("ok", "ok".to_string()),
        };
        let mut details = String::new();
        if let Some(e) = &error {
            details.push_str(&esc(&e.message));
        }
        for n in r.notes.iter().take(5) {
            if !details.is_empty() {
                details.push_str("<br>");
            }
            details.push_str(&esc(n));
        }
        if r.notes.len() > 5 {
            let _ = write!(details, "<br>… {} more", r.notes.len() - 5);
        }
        let _ = write!(
            h,
            "<tr class=\"job\"><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"msg\">{}</td></tr>",
            r.key.collector.name(),
            account(&r.key.account_id, j.account_name.as_deref()),
            esc(&r.key.region),
            esc(&state),
            seen(r.last_success, now),
            r.last_duration
                .map(|d| format!("{:.3}s", d.as_secs_f64()))
                .unwrap_or_default(),
            r.series,
            details
        );
    }
    h.push_str("</table></div>");
    pager(&mut h, q.page.min(pages - 1), pages, |p| {
        let mut l = format!("/?page={p}");
        for (k, v) in [
            ("collector", q.collector.as_deref()),
            ("account", q.account.as_deref()),
            ("region", q.region.as_deref()),
            ("state", q.state.map(JobState::as_str)),
        ] {
            if let Some(v) = v {
                let _ = write!(l, "&{k}={}", enc(v));
            }
        }
        l.push_str("#jobs");
        l
    });
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_formats_civil_dates() {
        let t = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(utc(t(0)), "1970-01-01 00:00:00Z");
        assert_eq!(utc(t(951_782_400)), "2000-02-29 00:00:00Z");
        assert_eq!(utc(t(1_796_175_772)), "2026-12-02 01:42:52Z");
        assert_eq!(utc(t(4_102_444_799)), "2099-12-31 23:59:59Z");
    }

    #[test]
    fn text_and_query_values_are_escaped() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(enc("Prod \"blue\"&x=1"), "Prod%20%22blue%22%26x%3D1");
    }
}
