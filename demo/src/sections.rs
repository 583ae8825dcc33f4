//! Builders of GRIB2 sections 1, 3 and 4 shared by the GFS-like and the
//! MRMS-like products.

use chrono::{DateTime, Datelike, Timelike, Utc};
use grib::def::grib2::template::{Template3_0, Template4_0, param_set};
use grib::def::grib2::{
    GridDefinitionTemplate, ProductDefinitionTemplate, Section1Payload, Section3Payload,
    Section4Payload,
};

/// A regular latitude/longitude grid scanned west→east, north→south
/// (scanning mode 0), in integer microdegrees so that sizes like 0.01° are
/// exact (going through `f64` degrees loses the last microdegree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatLonGridSpec {
    /// Points along a parallel.
    pub ni: u32,
    /// Points along a meridian.
    pub nj: u32,
    /// Latitude of the first (north-west) point, microdegrees.
    pub lat_first: i32,
    /// Longitude of the first point, microdegrees east in 0..360°.
    pub lon_first: u32,
    /// Grid step in both directions, microdegrees.
    pub step: u32,
}

impl LatLonGridSpec {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.ni as usize * self.nj as usize
    }

    /// Whether the grid has no point.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Latitude of row `j` in degrees.
    pub fn lat(&self, j: u32) -> f64 {
        (self.lat_first as i64 - j as i64 * self.step as i64) as f64 * 1e-6
    }

    /// Longitude of column `i` in degrees east.
    pub fn lon(&self, i: u32) -> f64 {
        (self.lon_first as u64 + i as u64 * self.step as u64) as f64 * 1e-6
    }

    /// Grid step in degrees.
    pub fn step_deg(&self) -> f64 {
        self.step as f64 * 1e-6
    }

    /// Section 3 with template 3.0 and earth shape 6 (sphere of radius
    /// 6 371 229 m), as both NCEP and MRMS use.
    pub fn section3(&self) -> Section3Payload {
        let missing = param_set::ScaledValue {
            scale_factor: 0xff,
            scaled_value: 0xffff_ffff,
        };
        let last_lat = self.lat_first - ((self.nj - 1) * self.step) as i32;
        let last_lon = self.lon_first + (self.ni - 1) * self.step;
        Section3Payload {
            grid_def_source: 0,
            num_points: self.len() as u32,
            num_point_list_octets: 0,
            point_list_interpretation: 0,
            template_num: 0,
            template: GridDefinitionTemplate::_3_0(Template3_0 {
                earth: param_set::EarthShape {
                    shape: 6,
                    spherical_earth_radius: missing.clone(),
                    major_axis: missing.clone(),
                    minor_axis: missing,
                },
                lat_lon: param_set::LatLonGrid {
                    grid: param_set::Grid {
                        ni: self.ni,
                        nj: self.nj,
                        initial_production_domain_basic_angle: 0,
                        basic_angle_subdivisions: 0xffff_ffff,
                        first_point_lat: self.lat_first,
                        first_point_lon: self.lon_first,
                        // Increments given; u/v relative to east/north.
                        resolution_and_component_flags: param_set::ResolutionAndComponentFlags(
                            0b0011_0000,
                        ),
                        last_point_lat: last_lat,
                        last_point_lon: last_lon,
                    },
                    i_direction_inc: self.step,
                    j_direction_inc: self.step,
                    scanning_mode: param_set::ScanningMode(0),
                },
            }),
        }
    }
}

/// What section 1 says about who made the data and when.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ident {
    pub centre: u16,
    /// Code table 1.2: 1 = start of forecast, 3 = observation time.
    pub ref_significance: u8,
    /// Code table 1.4: 1 = forecast, 7 = processed radar observations.
    pub data_type: u8,
}

pub(crate) fn section1(ident: Ident, reference: DateTime<Utc>) -> Section1Payload {
    Section1Payload {
        centre_id: ident.centre,
        subcentre_id: 0,
        master_table_version: 2,
        local_table_version: 1,
        ref_time_significance: ident.ref_significance,
        ref_time: param_set::DateTime {
            year: reference.year() as u16,
            month: reference.month() as u8,
            day: reference.day() as u8,
            hour: reference.hour() as u8,
            minute: reference.minute() as u8,
            second: reference.second() as u8,
        },
        prod_status: 0,
        data_type: ident.data_type,
        optional: None,
    }
}

/// A fixed surface (code table 4.5) with an integer value in its SI unit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Surface {
    pub kind: u8,
    pub value: i32,
}

/// The product: parameter, process, lead time and level.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Product {
    pub category: u8,
    pub number: u8,
    /// Code table 4.3: 2 = forecast, 8 = observation.
    pub process_type: u8,
    pub process_id: u8,
    /// Code table 4.4: 0 = minute, 1 = hour.
    pub time_unit: u8,
    pub lead: i32,
    pub surface: Surface,
}

/// Section 4 with template 4.0 and no second surface.
pub(crate) fn section4(p: Product) -> Section4Payload {
    Section4Payload {
        num_coord_values: 0,
        template_num: 0,
        template: ProductDefinitionTemplate::_4_0(Template4_0 {
            param: param_set::ProductParam {
                category: p.category,
                num: p.number,
            },
            generating_process: param_set::GeneratingProcess {
                process_type: p.process_type,
                background_process: 0,
                process_id: p.process_id,
            },
            forecast_time: param_set::ForecastTime {
                cutoff_hours: 0,
                cutoff_minutes: 0,
                time: param_set::TimeRange {
                    unit: p.time_unit,
                    len: p.lead,
                },
            },
            horizontal: param_set::Horizontal {
                first_surface: param_set::FixedSurface {
                    surface_type: p.surface.kind,
                    value: param_set::ScaledValue {
                        scale_factor: 0,
                        scaled_value: p.surface.value,
                    },
                },
                // All-ones octets ("missing"): the writer encodes signed
                // values as sign-magnitude, so -127 and -(2^31-1).
                second_surface: param_set::FixedSurface {
                    surface_type: 255,
                    value: param_set::ScaledValue {
                        scale_factor: -127,
                        scaled_value: -2_147_483_647,
                    },
                },
            },
        }),
    }
}
