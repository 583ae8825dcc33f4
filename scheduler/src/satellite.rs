//! From a satellite band (a NetCDF product's band) to a layer and a
//! catalog entry: `goes16_C13_conus`, "GOES-16 ABI band 13 clean longwave
//! IR (10.3 µm), CONUS", an observation layer at the scan's start time.

use decode::netcdf::{Quantity, SatelliteIndex};
use protocol::FieldRef;
use protocol::catalog::{FieldEntry, GridSummary, LayerInfo, LayerKind, Level, Parameter};
use protocol::layers::LayerCatalogue;
use protocol::style::{ColorMapName, Units};

/// GRIB2 discipline 3: space products; category 192: local use. Satellite
/// bands carry these codes so every catalog entry has a parameter.
const SPACE_DISCIPLINE: u8 = 3;
const LOCAL_CATEGORY: u8 = 192;
/// GRIB2 code table 4.5, 8: nominal top of atmosphere.
const TOP_OF_ATMOSPHERE: u8 = 8;
/// GRIB2 grid template 3.90: space view perspective.
const SPACE_VIEW_TEMPLATE: u16 = 90;

/// A satellite band's layer and catalog entry; the entry points at the
/// whole object `key` (workers decode whole NetCDF files).
pub fn satellite_entry(
    catalogue: &LayerCatalogue,
    key: &str,
    s: &SatelliteIndex,
) -> (String, LayerInfo, FieldEntry) {
    let satellite = catalogue.satellite(&s.platform);
    let sat_name = satellite.map_or_else(|| s.platform.to_lowercase(), |r| r.name.clone());
    let sat_title = satellite.map_or_else(|| s.platform.clone(), |r| r.title.clone());
    let rule = catalogue.band(s.band);
    let short_name = rule.map_or_else(|| format!("C{:02}", s.band), |r| r.short_name.clone());
    let band_name = rule.map_or("", |r| r.long_name.as_str());
    let (units, display_units) = match rule {
        Some(r) => (
            Units::parse(&r.units).unwrap_or(Units::Other),
            r.display_units(),
        ),
        None if s.quantity == Quantity::BrightnessTemperature => (Units::Kelvin, Units::Celsius),
        None => (Units::Other, Units::Other),
    };
    let (colormap, range) = match (rule, s.quantity) {
        (Some(r), _) => (r.colormap, r.range),
        (None, Quantity::BrightnessTemperature) => (ColorMapName::EnhancedIr, (-90.0, 50.0)),
        (None, Quantity::ReflectanceFactor) => (ColorMapName::Visible, (0.0, 1.0)),
    };
    let wavelength = if !s.wavelength_um.is_finite() {
        String::new()
    } else if s.wavelength_um < 1.0 {
        format!(" ({:.2} µm)", s.wavelength_um)
    } else {
        format!(" ({:.1} µm)", s.wavelength_um)
    };
    let band_text = format!("band {} {band_name}", s.band);
    let title = format!(
        "{sat_title} ABI {}{wavelength}, {}",
        band_text.trim_end(),
        s.sector.title()
    );
    let name = format!("{sat_name}_{short_name}_{}", s.sector.slug())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect::<String>();
    let info = LayerInfo {
        name: name.clone(),
        title: title.clone(),
        kind: LayerKind::Observation,
        units,
        display_units,
        colormap,
        range,
        transparent_below: None,
        no_data_color: None,
        elevation_units: None,
        pair: None,
        expected_valid_times: Default::default(),
    };
    let entry = FieldEntry {
        layer: name,
        parameter: Parameter {
            discipline: SPACE_DISCIPLINE,
            category: LOCAL_CATEGORY,
            number: s.band,
            short_name,
            long_name: title,
            units: match s.quantity {
                Quantity::BrightnessTemperature => "K".into(),
                Quantity::ReflectanceFactor => "1".into(),
            },
        },
        level: Level {
            type_code: TOP_OF_ATMOSPHERE,
            value: None,
            label: "top of atmosphere".into(),
        },
        run: s.start,
        valid: s.start,
        elevation: None,
        grid: GridSummary {
            template: SPACE_VIEW_TEMPLATE,
            ni: s.ni,
            nj: s.nj,
            bbox: s.bbox,
        },
        source: FieldRef {
            object_key: key.to_owned(),
            offset: 0,
            length: s.length,
            submessage: s.band_index as u32,
        },
    };
    (sat_name, info, entry)
}
