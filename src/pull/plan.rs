//! Range planning: which messages of a GRIB file hold the wanted fields,
//! and which HTTP range requests fetch them (adjacent messages merged).

use anyhow::{Result, bail};

use super::idx::{IdxEntry, message_range};

/// One wanted message of a source file.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Byte range `[start, end)` in the source object.
    pub start: u64,
    pub end: u64,
    /// The fields it holds (`NAME:level`), for messages and logs.
    pub fields: Vec<String>,
}

/// One range request: consecutive messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub start: u64,
    pub end: u64,
    pub messages: Vec<Message>,
}

/// The messages of `entries` holding `fields`, in file order. Every field
/// must be found (the error names the ones that are not, and `key`).
pub fn wanted_messages(
    key: &str,
    entries: &[IdxEntry],
    fields: &[String],
    object_size: u64,
    max_message_bytes: u64,
) -> Result<Vec<Message>> {
    let missing: Vec<&str> = fields
        .iter()
        .filter(|f| !entries.iter().any(|e| &e.field() == *f))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        bail!(
            "{key}: field(s) not in the inventory: {} (fields are NAME:level as in the .idx, e.g. {:?})",
            missing.join(", "),
            entries.first().map(IdxEntry::field).unwrap_or_default()
        );
    }
    let mut out: Vec<Message> = Vec::new();
    for e in entries.iter().filter(|e| fields.contains(&e.field())) {
        let (start, end) = message_range(entries, e.offset, object_size);
        if end <= start || end - start > max_message_bytes {
            bail!(
                "{key}: message {} ({}) spans {start}..{end}: empty or over the {max_message_bytes}-byte budget",
                e.number,
                e.field()
            );
        }
        match out.last_mut() {
            Some(m) if m.start == start => m.fields.push(e.field()),
            _ => out.push(Message {
                start,
                end,
                fields: vec![e.field()],
            }),
        }
    }
    Ok(out)
}

/// Groups consecutive messages into requests of at most `max_request`
/// bytes (a single larger message is still one request).
pub fn merge(messages: Vec<Message>, max_request: u64) -> Vec<Request> {
    let mut out: Vec<Request> = Vec::new();
    for m in messages {
        match out.last_mut() {
            Some(r) if r.end == m.start && m.end - r.start <= max_request => {
                r.end = m.end;
                r.messages.push(m);
            }
            _ => out.push(Request {
                start: m.start,
                end: m.end,
                messages: vec![m],
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pull::idx::parse;

    #[test]
    fn merges_adjacent_messages_only() {
        let e = parse(
            "k",
            "1:0:d=1:A:x:a:\n2:10:d=1:B:x:a:\n3:30:d=1:C:x:a:\n4:60:d=1:D:x:a:\n4.2:60:d=1:E:x:a:\n",
        )
        .unwrap();
        let want: Vec<String> = ["A:x", "B:x", "D:x", "E:x"].map(String::from).into();
        let msgs = wanted_messages("k", &e, &want, 100, 1000).unwrap();
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[2].fields, vec!["D:x", "E:x"]);
        let reqs = merge(msgs, 1000);
        assert_eq!(
            reqs.iter().map(|r| (r.start, r.end)).collect::<Vec<_>>(),
            vec![(0, 30), (60, 100)]
        );
        let err = wanted_messages("f.idx", &e, &["Z:y".into()], 100, 1000).unwrap_err();
        assert!(err.to_string().contains("Z:y") && err.to_string().contains("f.idx"));
    }
}
