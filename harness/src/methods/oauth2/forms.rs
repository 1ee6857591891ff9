//! HTML forms, as a browser would submit them: the login and consent pages of
//! an authorization server are walked by filling the fields the profile names,
//! keeping hidden inputs, and pressing the button that approves.

/// One `<form>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// `action`, as written (resolve against the page's URL); empty: the page itself.
    pub action: String,
    /// `GET` or `POST`.
    pub method: String,
    /// Named inputs with their values, in document order (submit buttons excluded).
    pub fields: Vec<(String, String)>,
    /// Named submit buttons: (name, value, label).
    pub buttons: Vec<(String, String, String)>,
    /// Names of password inputs.
    pub passwords: Vec<String>,
}

/// Words on buttons that refuse; never pressed.
const REFUSING: &[&str] = &["deny", "cancel", "reject", "abort", "decline", "no"];

impl Form {
    /// Whether the form has an input named `name`.
    pub fn has_field(&self, name: &str) -> bool {
        self.fields.iter().any(|(n, _)| n == name)
    }

    /// The fields to submit: inputs (with `fill` overriding values of the same
    /// name) and the approving button's name and value, if buttons are named.
    pub fn submission(&self, fill: &[(String, String)]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .fields
            .iter()
            .map(|(n, v)| {
                let filled = fill.iter().find(|(f, _)| f == n).map(|(_, v)| v.clone());
                (n.clone(), filled.unwrap_or_else(|| v.clone()))
            })
            .collect();
        let approving = self.buttons.iter().find(|(_, value, label)| {
            let words = format!("{value} {label}").to_ascii_lowercase();
            !REFUSING.iter().any(|w| words.split(|c: char| !c.is_alphanumeric()).any(|x| x == *w))
        });
        if let Some((name, value, _)) = approving {
            out.push((name.clone(), value.clone()));
        }
        out
    }
}

/// The forms of an HTML page.
pub fn forms(html: &str) -> Vec<Form> {
    let Ok(dom) = tl::parse(html, tl::ParserOptions::default()) else { return Vec::new() };
    let parser = dom.parser();
    let mut out = Vec::new();
    let Some(found) = dom.query_selector("form") else { return out };
    for handle in found {
        let Some(tag) = handle.get(parser).and_then(tl::Node::as_tag) else { continue };
        let attr = |tag: &tl::HTMLTag<'_>, name: &str| -> Option<String> {
            let value = tag.attributes().get(name)??;
            Some(unescape(&value.as_utf8_str()))
        };
        let mut form = Form {
            action: attr(tag, "action").unwrap_or_default(),
            method: attr(tag, "method").unwrap_or_else(|| "GET".to_owned()).to_ascii_uppercase(),
            fields: Vec::new(),
            buttons: Vec::new(),
            passwords: Vec::new(),
        };
        let Some(controls) = tag.query_selector(parser, "input, button, textarea, select") else {
            continue;
        };
        for control in controls {
            let Some(c) = control.get(parser).and_then(tl::Node::as_tag) else { continue };
            let Some(name) = attr(c, "name") else {
                continue;
            };
            let kind = attr(c, "type").unwrap_or_default().to_ascii_lowercase();
            let value = attr(c, "value").unwrap_or_default();
            match c.name().as_utf8_str().to_ascii_lowercase().as_str() {
                "button" if kind.is_empty() || kind == "submit" => {
                    let label = unescape(&c.inner_text(parser));
                    form.buttons.push((name, value, label.trim().to_owned()));
                }
                "button" => {}
                "input" => match kind.as_str() {
                    "submit" => form.buttons.push((name, value.clone(), value)),
                    "checkbox" | "radio" => {
                        if c.attributes().contains("checked") {
                            form.fields
                                .push((name, if value.is_empty() { "on".into() } else { value }));
                        }
                    }
                    "button" | "reset" | "image" | "file" => {}
                    "password" => {
                        form.passwords.push(name.clone());
                        form.fields.push((name, value));
                    }
                    _ => form.fields.push((name, value)),
                },
                _ => form.fields.push((name, value)),
            }
        }
        out.push(form);
    }
    out
}

/// The links of an HTML page, as written: every `<a href>` and form `action`.
pub fn links(html: &str) -> Vec<String> {
    let Ok(dom) = tl::parse(html, tl::ParserOptions::default()) else { return Vec::new() };
    let parser = dom.parser();
    let mut out = Vec::new();
    for (selector, name) in [("a", "href"), ("form", "action")] {
        for handle in dom.query_selector(selector).into_iter().flatten() {
            let Some(tag) = handle.get(parser).and_then(tl::Node::as_tag) else { continue };
            if let Some(Some(value)) = tag.attributes().get(name) {
                out.push(unescape(&value.as_utf8_str()));
            }
        }
    }
    out
}

/// Decodes the character references that appear in attribute values.
pub fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|e| *e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_keep_hidden_fields_and_press_the_approving_button() {
        let html = r#"<html><body>
            <form method="post" action="/authorize/consent?a=1&amp;b=2">
              <input type="hidden" name="csrf" value="x&#x2F;y">
              <input name="username"><input type="password" name="password">
              <input type="checkbox" name="remember">
              <button type="submit" name="decision" value="deny">Deny</button>
              <button type="submit" name="decision" value="approve">Allow</button>
            </form></body></html>"#;
        let found = forms(html);
        assert_eq!(found.len(), 1);
        let form = &found[0];
        assert_eq!(form.action, "/authorize/consent?a=1&b=2");
        assert_eq!(form.method, "POST");
        assert_eq!(form.passwords, ["password"]);
        let fill = [("username".to_owned(), "alice".to_owned())];
        assert_eq!(
            form.submission(&fill),
            [
                ("csrf".to_owned(), "x/y".to_owned()),
                ("username".to_owned(), "alice".to_owned()),
                ("password".to_owned(), String::new()),
                ("decision".to_owned(), "approve".to_owned()),
            ]
        );
    }

    #[test]
    fn unescape_leaves_stray_ampersands() {
        assert_eq!(unescape("a & b &amp; c &#65;&bogus;"), "a & b & c A&bogus;");
    }
}
