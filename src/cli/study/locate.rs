//! Where a field of a study file is: byte spans to line numbers and field paths
//! (`rewards[1].weight`), read from the spans of toml's own document parser.

use std::fmt;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a field path: a key or an index into an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A table's key.
    Key(String),
    /// An array's element.
    Index(usize),
}

/// A field's path in a study file, shown as `rewards[1].external.command`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Step>);

impl FieldPath {
    /// The path of a top-level key.
    pub fn key(key: &str) -> Self {
        Self(vec![Step::Key(key.into())])
    }

    /// This path followed by `key`.
    pub fn then(&self, key: &str) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Key(key.into()));
        Self(steps)
    }

    /// This path followed by element `index`.
    pub fn at(&self, index: usize) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Index(index));
        Self(steps)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(k) if i == 0 => write!(f, "{k}")?,
                Step::Key(k) => write!(f, ".{k}")?,
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The deepest field whose key or value holds byte `offset` (`None`: the text does not parse,
/// or the offset is outside every field).
pub fn field_at(text: &str, offset: usize) -> Option<FieldPath> {
    let root = DeTable::parse(text).ok()?;
    let mut path = FieldPath::default();
    descend_table(root.get_ref(), offset, &mut path);
    (!path.0.is_empty()).then_some(path)
}

fn holds(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

fn descend_table(table: &DeTable<'_>, offset: usize, path: &mut FieldPath) {
    for (key, value) in table.iter() {
        if holds(&key.span(), offset) {
            path.0.push(Step::Key(key.get_ref().to_string()));
            return;
        }
        if holds(&value.span(), offset) || contains(value, offset) {
            path.0.push(Step::Key(key.get_ref().to_string()));
            descend_value(value, offset, path);
            return;
        }
    }
}

/// Whether a table or array value holds `offset` somewhere inside (array-of-tables elements
/// are spread over the file, so the value's own span may not cover them).
fn contains(value: &Spanned<DeValue<'_>>, offset: usize) -> bool {
    match value.get_ref() {
        DeValue::Table(t) => t.iter().any(|(k, v)| {
            holds(&k.span(), offset) || holds(&v.span(), offset) || contains(v, offset)
        }),
        DeValue::Array(a) => a
            .iter()
            .any(|v| holds(&v.span(), offset) || contains(v, offset)),
        _ => false,
    }
}

fn descend_value(value: &Spanned<DeValue<'_>>, offset: usize, path: &mut FieldPath) {
    match value.get_ref() {
        DeValue::Table(t) => descend_table(t, offset, path),
        DeValue::Array(a) => {
            if let Some(i) = a
                .iter()
                .position(|v| holds(&v.span(), offset) || contains(v, offset))
            {
                path.0.push(Step::Index(i));
                descend_value(&a[i], offset, path);
            }
        }
        _ => {}
    }
}

/// The deepest table (or array-of-tables element) whose span covers `span`: where a field
/// reported missing from `span` belongs (empty: the document itself).
pub fn table_at(text: &str, span: &Range<usize>) -> FieldPath {
    let mut path = FieldPath::default();
    if let Ok(root) = DeTable::parse(text) {
        tables_covering(root.get_ref(), span, &mut path);
    }
    path
}

fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && outer.start < outer.end
}

fn tables_covering(table: &DeTable<'_>, span: &Range<usize>, path: &mut FieldPath) {
    for (key, value) in table.iter() {
        match value.get_ref() {
            DeValue::Table(t) if covers(&value.span(), span) => {
                path.0.push(Step::Key(key.get_ref().to_string()));
                return tables_covering(t, span, path);
            }
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let DeValue::Table(t) = item.get_ref()
                        && covers(&item.span(), span)
                    {
                        path.0.push(Step::Key(key.get_ref().to_string()));
                        path.0.push(Step::Index(i));
                        return tables_covering(t, span, path);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The byte span of the field at `path` (its value; the closest existing parent's when the
/// field is missing).
pub fn span_of(text: &str, path: &FieldPath) -> Option<Range<usize>> {
    let root = DeTable::parse(text).ok()?;
    let mut best = None;
    let mut table = Some(root.get_ref());
    let mut value: Option<&Spanned<DeValue<'_>>> = None;
    for step in &path.0 {
        let next = match (step, table, value.map(Spanned::get_ref)) {
            (Step::Key(k), Some(t), _) => t.iter().find(|(key, _)| key.get_ref() == k.as_str()),
            _ => None,
        }
        .map(|(_, v)| v)
        .or_else(|| match (step, value.map(Spanned::get_ref)) {
            (Step::Index(i), Some(DeValue::Array(a))) => a.get(*i),
            _ => None,
        });
        let Some(v) = next else { break };
        best = Some(first_span(v));
        value = Some(v);
        table = match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => None,
        };
    }
    best
}

/// A value's span; for a table spread over the file (array of tables), its first key's.
fn first_span(value: &Spanned<DeValue<'_>>) -> Range<usize> {
    match value.get_ref() {
        DeValue::Table(t) if value.span().is_empty() => t
            .iter()
            .map(|(k, _)| k.span())
            .min_by_key(|s| s.start)
            .unwrap_or(value.span()),
        _ => value.span(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "out = \"x\"\n\n[run]\nseeds = 3\n\n[[rewards]]\nname = \"a\"\n\n[[rewards]]\nname = \"b\"\nweight = 0.5\n";

    #[test]
    fn paths_and_lines() {
        let at = TEXT.find("0.5").unwrap();
        assert_eq!(field_at(TEXT, at).unwrap().to_string(), "rewards[1].weight");
        let path = FieldPath::key("rewards").at(1).then("weight");
        assert_eq!(line_of(TEXT, span_of(TEXT, &path).unwrap().start), 11);
        let seeds = FieldPath::key("run").then("seeds");
        assert_eq!(line_of(TEXT, span_of(TEXT, &seeds).unwrap().start), 4);
        let name = FieldPath::key("rewards").at(0).then("name");
        assert_eq!(line_of(TEXT, span_of(TEXT, &name).unwrap().start), 7);
    }
}
