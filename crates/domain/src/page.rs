//! One page of a longer list, and where the next one starts.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many items match, over all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    /// The `offset` of the next page; absent on the last one.
    pub next_offset: Option<i64>,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, total: i64, limit: i64, offset: i64) -> Self {
        let next = offset + items.len() as i64;
        Page {
            next_offset: (next < total && !items.is_empty()).then_some(next),
            items,
            total,
            limit,
            offset,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            limit: self.limit,
            offset: self.offset,
            next_offset: self.next_offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Page;

    #[test]
    fn next_offset_stops_at_the_end() {
        assert_eq!(Page::new(vec![1, 2], 5, 2, 0).next_offset, Some(2));
        assert_eq!(Page::new(vec![5], 5, 2, 4).next_offset, None);
        assert_eq!(Page::<i32>::new(vec![], 0, 2, 0).next_offset, None);
    }
}
