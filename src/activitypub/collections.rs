//! Collections and their pages as other servers serve them: items inline (`orderedItems` or
//! `items`), or pages from `first` on, each page a URL or embedded (Mastodon embeds the first).

use serde_json::Value;
use url::Url;

/// A collection or one of its pages.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    /// Its inline `orderedItems` (or `items`), each read by whoever knows what it holds.
    pub items: Vec<Value>,
    /// Where its pages start, when it has pages.
    pub first: Option<PageRef>,
    /// The page after this one.
    pub next: Option<PageRef>,
}

/// A page, by URL or embedded.
#[derive(Debug, Clone)]
pub enum PageRef {
    Link(Url),
    Embedded(Box<Collection>),
    /// A `first` or `next` string that is no URL.
    Unreadable(String),
}

impl Collection {
    /// Reads a collection or page; embedded pages nest no deeper than the JSON does (which
    /// serde_json bounds).
    pub fn parse(value: &Value) -> Collection {
        let items = value
            .get("orderedItems")
            .or_else(|| value.get("items"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let page = |key: &str| value.get(key).and_then(PageRef::read);
        Collection {
            items,
            first: page("first"),
            next: page("next"),
        }
    }
}

impl PageRef {
    /// A page reference; anything but a string or an object is no page.
    fn read(value: &Value) -> Option<PageRef> {
        match value {
            Value::String(s) => {
                Some(Url::parse(s).map_or_else(|_| PageRef::Unreadable(s.clone()), PageRef::Link))
            }
            Value::Object(_) => Some(PageRef::Embedded(Box::new(Collection::parse(value)))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inline_paged_and_embedded() {
        let lemmy =
            Collection::parse(&json!({"type": "OrderedCollection", "orderedItems": [1, 2]}));
        assert_eq!(lemmy.items.len(), 2);
        assert!(lemmy.first.is_none());
        let paged = Collection::parse(&json!({"first": "https://a.example/o?page=1"}));
        assert!(matches!(paged.first, Some(PageRef::Link(_))));
        let mastodon = Collection::parse(&json!({"first": {
            "type": "OrderedCollectionPage", "items": ["x"], "next": "https://a.example/o?page=2"}}));
        let Some(PageRef::Embedded(first)) = mastodon.first else {
            panic!("an embedded first page")
        };
        assert_eq!(first.items.len(), 1);
        assert!(matches!(first.next, Some(PageRef::Link(_))));
        assert!(Collection::parse(&json!({"first": 3})).first.is_none());
        assert!(matches!(
            Collection::parse(&json!({"first": "not a url"})).first,
            Some(PageRef::Unreadable(_))
        ));
    }
}
