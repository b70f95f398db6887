//! A set of INTIDs (0-1023) as a fixed bitmap: one bit per interrupt, one
//! word per GICD register index (the layout of GICD_ISENABLERn and friends).

use crate::config::MAX_LINES;

const WORDS: usize = (MAX_LINES / 32) as usize;

/// A set of INTIDs 0-1023, one bit each, stored as 32 words laid out like
/// the one-bit-per-interrupt GICD registers (word `n` holds INTIDs
/// `32n..32n+31`). IDs of 1024 and up are never members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IntIdSet {
    words: [u32; WORDS],
}

impl IntIdSet {
    /// The empty set.
    pub const EMPTY: IntIdSet = IntIdSet { words: [0; WORDS] };

    /// Adds `id`; ignored for IDs of 1024 and up.
    pub fn insert(&mut self, id: u32) {
        if let Some(w) = self.words.get_mut((id / 32) as usize) {
            *w |= 1 << (id % 32);
        }
    }

    /// Removes `id`.
    pub fn remove(&mut self, id: u32) {
        if let Some(w) = self.words.get_mut((id / 32) as usize) {
            *w &= !(1 << (id % 32));
        }
    }

    /// Whether `id` is a member.
    pub fn contains(&self, id: u32) -> bool {
        self.word((id / 32) as usize) & (1 << (id % 32)) != 0
    }

    /// Word `w` of the bitmap (INTIDs `32w..32w+31`); 0 beyond the last.
    pub fn word(&self, w: usize) -> u32 {
        self.words.get(w).copied().unwrap_or(0)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// The members, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &bits)| {
            let mut bits = bits;
            core::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let id = w as u32 * 32 + bits.trailing_zeros();
                    bits &= bits - 1;
                    id
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::IntIdSet;

    #[test]
    fn members_are_kept_per_intid_and_ids_beyond_1023_are_never_members() {
        let mut s = IntIdSet::EMPTY;
        for id in [0, 31, 32, 1019, 1023, 1024, u32::MAX] {
            s.insert(id);
        }
        assert!(s.iter().eq([0, 31, 32, 1019, 1023]));
        assert!(s.contains(1023) && !s.contains(1024) && !s.contains(u32::MAX));
        assert_eq!(s.word(0), 0x8000_0001);
        s.remove(31);
        s.remove(u32::MAX);
        assert!(!s.contains(31));
        assert!(!s.is_empty());
    }
}
