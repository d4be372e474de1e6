//! Compiled forms shared by the hooks that wrote the same text. Thousands of hooks use a handful of cron patterns,
//! and each compiled pattern costs time to build and about 5 KB to hold (croner sizes its year field for years up
//! to 5000), so a scheduler holding 10,000 claimed hooks would hold 10,000 copies of the same few. Hooks read from
//! the database share one copy instead, from a cache bounded in entries, so a flood of distinct texts costs at most
//! the bound.

use std::sync::Arc;

/// A bounded cache from a text to what it compiles to.
pub(crate) struct Interned<T> {
    cache: moka::sync::Cache<String, Arc<T>>,
}

impl<T: Send + Sync + 'static> Interned<T> {
    /// A cache keeping at most `capacity` compiled forms, the least used evicted first.
    pub(crate) fn new(capacity: u64) -> Self {
        Self { cache: moka::sync::Cache::new(capacity) }
    }

    /// The compiled form of `text`, compiled by `compile` when not cached. Failures are not cached: an invalid
    /// text is rare and its error is wanted each time.
    pub(crate) fn get_or_compile<E>(&self, text: &str, compile: impl FnOnce() -> Result<T, E>) -> Result<Arc<T>, E> {
        if let Some(compiled) = self.cache.get(text) {
            return Ok(compiled);
        }
        // Two callers may compile the same text at once; both get a correct value and one is kept.
        let compiled = Arc::new(compile()?);
        self.cache.insert(text.to_owned(), Arc::clone(&compiled));
        Ok(compiled)
    }
}
