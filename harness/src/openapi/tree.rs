//! The document as a tree of strings, mappings and sequences, each node with
//! the line it starts on. YAML 1.2 is a superset of JSON, so one parser
//! (marked-yaml, over yaml-rust2) reads both and keeps positions; scalars
//! stay text, read as numbers or booleans only where the specification says
//! a field is one.

use marked_yaml::{LoaderOptions, Node};

/// A node of the document.
#[derive(Debug, Clone, PartialEq)]
pub enum Tree {
    /// A scalar, as written (quotes removed).
    Text(String, usize),
    /// A mapping, keys in document order.
    Map(Vec<(String, Tree)>, usize),
    /// A sequence.
    Seq(Vec<Tree>, usize),
}

impl Tree {
    /// Parses `text` (YAML or JSON); the error says where and why.
    pub fn parse(text: &str) -> Result<Tree, String> {
        let options = LoaderOptions::default().error_on_duplicate_keys(true);
        let node =
            marked_yaml::parse_yaml_with_options(0, text, options).map_err(|e| e.to_string())?;
        Ok(Tree::from_node(&node))
    }

    fn from_node(node: &Node) -> Tree {
        let line = node.span().start().map_or(0, |m| m.line());
        match node {
            Node::Scalar(s) => Tree::Text(s.as_str().to_owned(), line),
            // A member's line is its key's: where a reader (and a SARIF
            // result) looks for `get:` or `"/orders": {`.
            Node::Mapping(m) => Tree::Map(
                m.iter()
                    .map(|(k, v)| {
                        let mut child = Tree::from_node(v);
                        if let Some(at) = k.span().start() {
                            child.set_line(at.line());
                        }
                        (k.as_str().to_owned(), child)
                    })
                    .collect(),
                line,
            ),
            Node::Sequence(s) => Tree::Seq(s.iter().map(Tree::from_node).collect(), line),
        }
    }

    fn set_line(&mut self, line: usize) {
        match self {
            Tree::Text(_, l) | Tree::Map(_, l) | Tree::Seq(_, l) => *l = line,
        }
    }

    /// The line this node starts on (1-based); a mapping member's is its key's.
    pub fn line(&self) -> usize {
        match self {
            Tree::Text(_, l) | Tree::Map(_, l) | Tree::Seq(_, l) => *l,
        }
    }

    /// Member `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Tree> {
        match self {
            Tree::Map(members, _) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a scalar.
    pub fn text(&self) -> Option<&str> {
        match self {
            Tree::Text(t, _) => Some(t),
            _ => None,
        }
    }

    /// Member `key` as text.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Tree::text)
    }

    /// Member `key` as a boolean (`true`, `false`).
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.str(key)? {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        }
    }

    /// The members of a mapping (none for anything else).
    pub fn members(&self) -> &[(String, Tree)] {
        match self {
            Tree::Map(members, _) => members,
            _ => &[],
        }
    }

    /// The items of a sequence (none for anything else).
    pub fn items(&self) -> &[Tree] {
        match self {
            Tree::Seq(items, _) => items,
            _ => &[],
        }
    }

    /// The node a local reference (`#/components/schemes/x`, RFC 6901)
    /// names in `root`.
    pub fn resolve<'a>(root: &'a Tree, reference: &str) -> Option<&'a Tree> {
        let pointer = reference.strip_prefix('#')?;
        let mut node = root;
        for token in pointer.split('/').skip(1) {
            let token = token.replace("~1", "/").replace("~0", "~");
            node = match node {
                Tree::Map(..) => node.get(&token)?,
                Tree::Seq(items, _) => items.get(token.parse::<usize>().ok()?)?,
                Tree::Text(..) => return None,
            };
        }
        Some(node)
    }

    /// This node, or the one its `$ref` names (local references, followed up
    /// to a few times; a loop or a remote reference is `Err`).
    pub fn deref<'a>(&'a self, root: &'a Tree) -> Result<&'a Tree, String> {
        let mut node = self;
        for _ in 0..8 {
            let Some(reference) = node.str("$ref") else { return Ok(node) };
            if !reference.starts_with('#') {
                return Err(format!(
                    "line {}: `$ref: {reference}` points outside the document; only local references are followed",
                    node.line()
                ));
            }
            node = Tree::resolve(root, reference).ok_or_else(|| {
                format!("line {}: `$ref: {reference}` names nothing in the document", node.line())
            })?;
        }
        Err(format!("line {}: `$ref`s that loop", self.line()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_both_parse_with_lines() {
        let yaml = Tree::parse("a:\n  b: x\n  c: [1, 2]\n").unwrap();
        assert_eq!(yaml.get("a").unwrap().get("b").unwrap().line(), 2);
        assert_eq!(yaml.get("a").unwrap().get("c").unwrap().items().len(), 2);
        let json = Tree::parse("{\n  \"a\": {\n    \"b\": \"x\"\n  }\n}").unwrap();
        assert_eq!(json.get("a").unwrap().str("b"), Some("x"));
        assert_eq!(json.get("a").unwrap().get("b").unwrap().line(), 3);
        assert!(Tree::parse("a: 1\na: 2\n").unwrap_err().contains("a"), "duplicate keys");
    }

    #[test]
    fn local_references_resolve_and_loops_do_not_hang() {
        let t = Tree::parse(
            "x:\n  $ref: '#/y/a~1b'\ny:\n  a/b: v\nl1:\n  $ref: '#/l2'\nl2:\n  $ref: '#/l1'\n",
        )
        .unwrap();
        assert_eq!(t.get("x").unwrap().deref(&t).unwrap().text(), Some("v"));
        assert!(t.get("l1").unwrap().deref(&t).unwrap_err().contains("loop"));
        let remote = Tree::parse("x:\n  $ref: 'other.yaml#/a'\n").unwrap();
        assert!(remote.get("x").unwrap().deref(&remote).unwrap_err().contains("outside"));
    }
}
