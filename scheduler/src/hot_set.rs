//! How many positions the hot set warms: it shrinks when too few of its
//! tiles are asked for (precision below the floor) and grows while its
//! tiles are used (precision high) but users still miss (recall low).
//! Every resize is logged and counted.

use protocol::{WarmOutcomes, WarmSource};

/// The sizing rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HotSetPolicy {
    /// Shrink below this precision (used ÷ settled hot-set tiles).
    pub precision_floor: f64,
    /// Grow only above this precision ...
    pub grow_precision: f64,
    /// ... and while recall (uses ÷ (uses + misses)) is below this.
    pub grow_below_recall: f64,
    /// Settled hot-set tiles needed before deciding anything.
    pub min_settled: u64,
    /// Never below this many positions, nor above `max_factor` × the
    /// configured size.
    pub min_size: usize,
    pub max_factor: usize,
}

impl Default for HotSetPolicy {
    fn default() -> Self {
        Self {
            precision_floor: 0.78,
            grow_precision: 0.9,
            grow_below_recall: 0.85,
            min_settled: 32,
            min_size: 16,
            max_factor: 4,
        }
    }
}

/// What one look at the outcomes decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resize {
    /// Too few hot-set tiles settled since the last decision.
    Undecided,
    Kept {
        precision: f64,
        recall: f64,
    },
    Shrunk {
        to: usize,
        precision: f64,
        recall: f64,
    },
    Grew {
        to: usize,
        precision: f64,
        recall: f64,
    },
}

/// The hot set's current size and what it was decided from.
#[derive(Debug)]
pub struct HotSetSizer {
    policy: HotSetPolicy,
    size: usize,
    max: usize,
    /// Outcomes when the last decision was made: each decision looks only
    /// at what settled since.
    baseline: WarmOutcomes,
}

impl HotSetSizer {
    pub fn new(size: usize, policy: HotSetPolicy) -> Self {
        Self {
            policy,
            size,
            max: size.saturating_mul(policy.max_factor).max(size),
            baseline: WarmOutcomes::default(),
        }
    }

    /// Positions to warm per new field now.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Looks at the outcomes counted so far and resizes if they say so.
    pub fn adjust(&mut self, now: WarmOutcomes) -> Resize {
        let hot = WarmSource::HotSet;
        let used = now.used(hot).saturating_sub(self.baseline.used(hot));
        let wasted = now.wasted(hot).saturating_sub(self.baseline.wasted(hot));
        if used + wasted < self.policy.min_settled {
            return Resize::Undecided;
        }
        let uses = now.used_total().saturating_sub(self.baseline.used_total());
        let misses = now.misses.saturating_sub(self.baseline.misses);
        self.baseline = now;
        let precision = used as f64 / (used + wasted) as f64;
        let recall = if uses + misses == 0 {
            1.0
        } else {
            uses as f64 / (uses + misses) as f64
        };
        let p = &self.policy;
        if precision < p.precision_floor && self.size > p.min_size {
            self.size = (self.size * 3 / 4).max(p.min_size);
            Resize::Shrunk {
                to: self.size,
                precision,
                recall,
            }
        } else if precision >= p.grow_precision
            && recall < p.grow_below_recall
            && self.size < self.max
        {
            self.size = (self.size + self.size.div_ceil(4)).min(self.max);
            Resize::Grew {
                to: self.size,
                precision,
                recall,
            }
        } else {
            Resize::Kept { precision, recall }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcomes(used: u64, wasted: u64, misses: u64) -> WarmOutcomes {
        let mut o = WarmOutcomes {
            misses,
            ..Default::default()
        };
        o.used[WarmSource::HotSet.index()] = used;
        o.wasted[WarmSource::HotSet.index()] = wasted;
        o
    }

    #[test]
    fn low_precision_shrinks_it_to_a_floor() {
        let mut s = HotSetSizer::new(256, HotSetPolicy::default());
        // 50 of 100 settled tiles used: precision 0.5 < 0.78.
        assert!(matches!(
            s.adjust(outcomes(50, 50, 0)),
            Resize::Shrunk { to: 192, .. }
        ));
        // Only the change since the last decision counts: 10 more settled
        // are too few to decide again.
        assert_eq!(s.adjust(outcomes(55, 55, 0)), Resize::Undecided);
        let mut cumulative = (55, 55);
        for _ in 0..20 {
            cumulative = (cumulative.0 + 10, cumulative.1 + 40);
            s.adjust(outcomes(cumulative.0, cumulative.1, 0));
        }
        assert_eq!(s.size(), 16);
    }

    #[test]
    fn high_precision_and_low_recall_grow_it_to_a_ceiling() {
        let mut s = HotSetSizer::new(100, HotSetPolicy::default());
        // Every warmed tile used, but users missed 3 of every 4 tiles.
        let r = s.adjust(outcomes(40, 0, 120));
        assert!(matches!(r, Resize::Grew { to: 125, .. }), "{r:?}");
        for i in 2..20 {
            s.adjust(outcomes(40 * i, 0, 120 * i));
        }
        assert_eq!(s.size(), 400);
    }

    #[test]
    fn good_precision_and_recall_keep_it() {
        let mut s = HotSetSizer::new(100, HotSetPolicy::default());
        // 95 % used, and 95 % of requests found their tile ready.
        let r = s.adjust(outcomes(95, 5, 5));
        assert!(matches!(r, Resize::Kept { .. }), "{r:?}");
        assert_eq!(s.size(), 100);
        // Precision between the floor and the growth bar: kept too.
        let r = s.adjust(outcomes(95 + 80, 5 + 20, 5 + 500));
        assert!(matches!(r, Resize::Kept { .. }), "{r:?}");
    }
}
