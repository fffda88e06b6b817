//! The documents and notebooks to check, in the order they became stale, each once; numbered,
//! so that a request is answered after the checks that were due when it arrived.

use std::collections::{HashSet, VecDeque};

#[derive(Default)]
pub struct StaleQueue {
    order: VecDeque<(u64, String)>,
    members: HashSet<String>,
    /// The number of the next unit to become stale.
    next: u64,
}

impl StaleQueue {
    pub fn push(&mut self, unit: &str) {
        if self.members.insert(unit.to_string()) {
            self.order.push_back((self.next, unit.to_string()));
            self.next += 1;
        }
    }

    /// The first unit to check, and its number.
    pub fn front(&self) -> Option<(u64, &str)> {
        self.order
            .front()
            .map(|(number, unit)| (*number, unit.as_str()))
    }

    pub fn pop_front(&mut self) -> Option<String> {
        let (_, unit) = self.order.pop_front()?;
        self.members.remove(&unit);
        Some(unit)
    }

    pub fn contains(&self, unit: &str) -> bool {
        self.members.contains(unit)
    }

    pub fn remove(&mut self, unit: &str) {
        if self.members.remove(unit) {
            self.order.retain(|(_, known)| known != unit);
        }
    }

    pub fn clear(&mut self) {
        self.order.clear();
        self.members.clear();
    }

    /// The number the next unit to become stale gets: what is stale now comes before it.
    pub fn ticket(&self) -> u64 {
        self.next
    }
}
