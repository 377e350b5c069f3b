//! Which page of a long list (the lobby's rooms, the administrators' rooms) someone asks for.

use super::Invalid;

/// A page number from 1 to `Page::MAX`: a list's pages are read by offset, so one account may
/// not send the database through a million rooms for a page nobody could reach by its links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page(u32);

impl Page {
    pub const FIRST: Page = Page(1);
    /// With 200 a page: 2 million rooms.
    pub const MAX: u32 = 10_000;

    /// Missing or 0 is the first page.
    pub fn parse(page: Option<u32>) -> Result<Page, Invalid> {
        match page.unwrap_or(1) {
            0 => Ok(Self::FIRST),
            page if page <= Self::MAX => Ok(Page(page)),
            _ => Err(Invalid(format!(
                "The page must be a number from 1 to {}.",
                Self::MAX
            ))),
        }
    }

    pub fn number(self) -> u32 {
        self.0
    }

    /// How many items come before this page, at `size` a page.
    pub fn offset(self, size: u32) -> i64 {
        i64::from(self.0 - 1) * i64::from(size)
    }

    /// The page after this one, when there are more items.
    pub fn next(self, more: bool) -> Option<u32> {
        more.then_some(self.0 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_run_from_1_to_the_bound_and_0_or_none_is_the_first() {
        assert_eq!(Page::parse(None), Ok(Page::FIRST));
        assert_eq!(Page::parse(Some(0)), Ok(Page::FIRST));
        assert_eq!(Page::parse(Some(3)).unwrap().offset(200), 400);
        assert_eq!(Page::parse(Some(Page::MAX)).unwrap().number(), Page::MAX);
        assert!(Page::parse(Some(Page::MAX + 1)).is_err());
        assert!(Page::parse(Some(u32::MAX)).is_err());
    }
}
