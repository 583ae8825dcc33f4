//! A minimal XML writer: just what the OGC documents need.
//!
//! Hand-written rather than quick-xml because the documents are small and
//! regular, and because escaping must also drop characters XML 1.0 cannot
//! carry at all (C0 controls), which escaping libraries leave in and which
//! then make strict parsers reject the whole capabilities document.

use std::fmt::Write as _;

/// Appends `s` escaped for XML text or a double-quoted attribute value.
pub(crate) fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Kept as references so attribute-value normalisation does not
            // turn them into spaces.
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            // Not allowed in XML 1.0 even as character references.
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

/// Returns `s` escaped for XML text or attribute values.
#[cfg(test)]
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

/// Writes an indented document element by element. Element and attribute
/// names are `&'static str` (the schema's vocabulary, never user input);
/// every value is escaped.
pub(crate) struct XmlWriter {
    buf: String,
    open: Vec<&'static str>,
}

impl XmlWriter {
    /// Starts a document with the XML declaration.
    pub(crate) fn new() -> Self {
        Self {
            buf: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            open: Vec::new(),
        }
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        for _ in 0..self.open.len() {
            self.buf.push_str("  ");
        }
        self.buf.push('<');
        self.buf.push_str(name);
        for (k, v) in attrs {
            let _ = write!(self.buf, " {k}=\"");
            escape_into(&mut self.buf, v);
            self.buf.push('"');
        }
    }

    /// Opens `<name attrs…>`; close it with [`Self::end`].
    pub(crate) fn start(&mut self, name: &'static str, attrs: &[(&str, &str)]) -> &mut Self {
        self.start_tag(name, attrs);
        self.buf.push_str(">\n");
        self.open.push(name);
        self
    }

    /// Closes the innermost open element.
    pub(crate) fn end(&mut self) -> &mut Self {
        let name = self.open.pop().expect("end() without an open element");
        for _ in 0..self.open.len() {
            self.buf.push_str("  ");
        }
        let _ = writeln!(self.buf, "</{name}>");
        self
    }

    /// Writes `<name attrs…>text</name>`.
    pub(crate) fn text(
        &mut self,
        name: &'static str,
        attrs: &[(&str, &str)],
        text: &str,
    ) -> &mut Self {
        self.start_tag(name, attrs);
        self.buf.push('>');
        escape_into(&mut self.buf, text);
        let _ = writeln!(self.buf, "</{name}>");
        self
    }

    /// Writes `<name attrs…/>`.
    pub(crate) fn empty(&mut self, name: &'static str, attrs: &[(&str, &str)]) -> &mut Self {
        self.start_tag(name, attrs);
        self.buf.push_str("/>\n");
        self
    }

    /// The finished document. Panics if an element is still open: that is
    /// a bug in the caller, and a truncated document must never be served.
    pub(crate) fn finish(self) -> String {
        assert!(self.open.is_empty(), "unclosed elements: {:?}", self.open);
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_illegal_controls() {
        assert_eq!(
            escape(r#"<a & "b" 'c'>"#),
            "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;"
        );
        assert_eq!(escape("x\u{1}y\tz"), "x\u{fffd}y&#9;z");
        assert_eq!(escape("°C ünïcode"), "°C ünïcode");
    }

    #[test]
    fn writer_nests_and_escapes_attributes() {
        let mut w = XmlWriter::new();
        w.start("a", &[("k", "1&2")])
            .text("b", &[], "<x>")
            .empty("c", &[("h", "\"")])
            .end();
        let doc = w.finish();
        assert_eq!(
            doc,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a k=\"1&amp;2\">\n  <b>&lt;x&gt;</b>\n  <c h=\"&quot;\"/>\n</a>\n"
        );
    }
}
