//! Counting what one caller holds open at once (connections per address, live streams per user):
//! a [`Slot`] is taken up to a maximum per key and given back when it is dropped.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Open slots per key.
pub struct Slots<K>(Mutex<HashMap<K, usize>>);

impl<K> Default for Slots<K> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

/// One taken slot; dropping it gives it back.
pub struct Slot<K: Hash + Eq> {
    slots: Arc<Slots<K>>,
    key: K,
}

impl<K: Hash + Eq + Clone> Slots<K> {
    /// A slot for `key`, unless it holds `max` already.
    pub fn take(self: &Arc<Self>, key: K, max: usize) -> Option<Slot<K>> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let held = open.entry(key.clone()).or_default();
        if *held >= max {
            return None;
        }
        *held += 1;
        Some(Slot { slots: self.clone(), key })
    }
}

impl<K: Hash + Eq> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut open = self.slots.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(held) = open.get_mut(&self.key) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_key_and_given_back() {
        let slots = Arc::new(Slots::default());
        let a: Vec<_> = (0..2).filter_map(|_| slots.take("a", 2)).collect();
        assert_eq!(a.len(), 2);
        assert!(slots.take("a", 2).is_none(), "a third is refused");
        assert!(slots.take("b", 2).is_some(), "per key");
        drop(a);
        assert!(slots.take("a", 2).is_some(), "given back when dropped");
    }
}
