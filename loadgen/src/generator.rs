//! Turns a scenario into a deterministic sequence of request URLs.

use crate::rng::Rng;
use crate::scenario::{Layer, Scenario};
use crate::strategy::TileStrategy;
use crate::template::{Dim, RenderCtx, UrlTemplate};
use crate::tile::{Tile, TileMatrixSet};

/// One request to send.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRequest {
    /// Full URL.
    pub url: String,
    /// Index into the scenario's layers.
    pub layer: usize,
    /// Requested tile.
    pub tile: Tile,
}

/// Weighted layer choice + strategy tile + dimension values, rendered into URLs.
pub struct RequestGenerator {
    base_url: String,
    template: UrlTemplate,
    tms: TileMatrixSet,
    layers: Vec<Layer>,
    cumulative: Vec<f64>,
    dims: Vec<Dim>,
    animated: Option<Dim>,
    strategy: Box<dyn TileStrategy>,
    rng: Rng,
}

impl RequestGenerator {
    /// Generator for a validated scenario, seeded with `scenario.seed`.
    pub fn new(scenario: &Scenario) -> Self {
        let mut acc = 0.0;
        let cumulative = scenario
            .layers
            .iter()
            .map(|l| {
                acc += l.weight;
                acc
            })
            .collect();
        RequestGenerator {
            base_url: scenario.base_url.clone(),
            template: scenario.url.clone(),
            tms: scenario.tms,
            layers: scenario.layers.clone(),
            cumulative,
            dims: scenario.url.dims(),
            animated: scenario.strategy.animated_dim(),
            strategy: scenario.strategy.build(scenario.tms),
            rng: Rng::new(scenario.seed),
        }
    }

    fn pick_layer(&mut self) -> usize {
        if self.layers.len() == 1 {
            return 0;
        }
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let u = self.rng.unit_f64() * total;
        self.cumulative
            .partition_point(|c| *c <= u)
            .min(self.layers.len() - 1)
    }

    /// The next request of the sequence.
    pub fn next_request(&mut self) -> PlannedRequest {
        let pick = self.strategy.next(&mut self.rng);
        let li = self.pick_layer();
        let mut chosen: [usize; 4] = [0; 4];
        for d in &self.dims {
            let n = self.layers[li].dims[d.index()].len() as u64;
            chosen[d.index()] = match (pick.frame, self.animated) {
                // Animation frames walk the value list in order, wrapping at the end.
                (Some(f), Some(a)) if a == *d && n > 0 => (f % n) as usize,
                _ => self.rng.below(n) as usize,
            };
        }
        let layer = &self.layers[li];
        let value = |d: Dim| {
            layer.dims[d.index()]
                .get(chosen[d.index()])
                .map(String::as_str)
        };
        let ctx = RenderCtx {
            layer: &layer.name,
            style: &layer.style,
            tile: pick.tile,
            tms: self.tms,
            dims: [
                value(Dim::Time),
                value(Dim::Run),
                value(Dim::Forecast),
                value(Dim::Elevation),
            ],
        };
        let mut url = String::with_capacity(self.base_url.len() + 96);
        url.push_str(&self.base_url);
        self.template.render_into(&mut url, &ctx);
        PlannedRequest {
            url,
            layer: li,
            tile: pick.tile,
        }
    }
}

impl Iterator for RequestGenerator {
    type Item = PlannedRequest;

    fn next(&mut self) -> Option<PlannedRequest> {
        Some(self.next_request())
    }
}
