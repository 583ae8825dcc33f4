//! A CRS's authority axis order, read from PROJ's own database (`proj.db`),
//! which the `proj` crate does not expose: WMS 1.3.0 writes a `BBOX` in that
//! order, so EPSG:3035 or EPSG:2180 boxes come northing first.

use std::path::PathBuf;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::CrsError;

/// What kind of CRS an EPSG code names, and its axis order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AxisInfo {
    /// Latitude/longitude degrees rather than projected units.
    pub geographic: bool,
    /// The first axis points north or south (northing or latitude first).
    pub northing_first: bool,
}

/// Where PROJ keeps `proj.db`: `PROJ_DATA` (or the older `PROJ_LIB`), then
/// the library's own search path, then Debian's `/usr/share/proj`.
fn proj_db() -> Option<PathBuf> {
    let from_env = ["PROJ_DATA", "PROJ_LIB"]
        .into_iter()
        .filter_map(std::env::var_os)
        .flat_map(|v| std::env::split_paths(&v).collect::<Vec<_>>());
    let from_lib = proj::ProjBuilder::new()
        .lib_info()
        .map(|i| {
            i.searchpath
                .split([';', ':'])
                .map(PathBuf::from)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    from_env
        .chain(from_lib)
        .chain([PathBuf::from("/usr/share/proj")])
        .map(|d| d.join("proj.db"))
        .find(|p| p.is_file())
}

/// The axis order of `EPSG:code` when it is a 2-D projected or geographic
/// CRS; [`CrsError::Unsupported`] for other kinds (geocentric, vertical,
/// compound, 3-D), [`CrsError::Unknown`] when the database has no such code.
pub fn axis_info(code: u32) -> Result<AxisInfo, CrsError> {
    let path = proj_db().ok_or_else(|| CrsError::Proj("proj.db not found".into()))?;
    let db = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| CrsError::Proj(format!("{}: {e}", path.display())))?;
    let code = code.to_string();
    let sql_err = |e: rusqlite::Error| CrsError::Proj(format!("proj.db: {e}"));
    let projected: Option<String> = db
        .query_row(
            "SELECT CAST(coordinate_system_code AS TEXT) FROM projected_crs
             WHERE auth_name = 'EPSG' AND code = ?1 AND coordinate_system_code IS NOT NULL",
            [&code],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?;
    let (cs, geographic) = match projected {
        Some(cs) => (cs, false),
        None => {
            let geodetic: Option<(String, String)> = db
                .query_row(
                    "SELECT CAST(coordinate_system_code AS TEXT), type FROM geodetic_crs
                     WHERE auth_name = 'EPSG' AND code = ?1 AND coordinate_system_code IS NOT NULL",
                    [&code],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(sql_err)?;
            match geodetic {
                Some((cs, kind)) if kind == "geographic 2D" => (cs, true),
                Some((_, kind)) => return Err(CrsError::Unsupported(format!("a {kind} CRS"))),
                None => return Err(unknown_kind(&db, &code)),
            }
        }
    };
    let mut stmt = db
        .prepare(
            "SELECT abbrev, orientation FROM axis
             WHERE coordinate_system_auth_name = 'EPSG' AND coordinate_system_code = ?1
             ORDER BY coordinate_system_order",
        )
        .map_err(sql_err)?;
    let axes: Vec<(String, String)> = stmt
        .query_map([&cs], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sql_err)?
        .collect::<Result<_, _>>()
        .map_err(sql_err)?;
    let [(abbrev, first), (_, second)] = &axes[..] else {
        return Err(CrsError::Unsupported(format!(
            "a CRS of {} axes",
            axes.len()
        )));
    };
    Ok(AxisInfo {
        geographic,
        northing_first: northing_first(abbrev, first, second),
    })
}

/// PROJ's rule for swapping axes for display
/// (`proj_normalize_for_visualization`): north/south then east/west, or a
/// polar CRS whose first axis is the northing (UPS North, EPSG:32661).
fn northing_first(abbrev: &str, first: &str, second: &str) -> bool {
    let ns = |o: &str| o == "north" || o == "south";
    let ew = |o: &str| o == "east" || o == "west";
    (ns(first) && ew(second)) || (abbrev.eq_ignore_ascii_case("n") && !ew(first))
}

/// Why a code is not a CRS we draw in: another kind of CRS, or none.
fn unknown_kind(db: &Connection, code: &str) -> CrsError {
    for table in ["vertical_crs", "compound_crs", "engineering_crs"] {
        let sql = format!("SELECT 1 FROM {table} WHERE auth_name = 'EPSG' AND code = ?1");
        if db
            .query_row(&sql, [code], |_| Ok(()))
            .optional()
            .ok()
            .flatten()
            .is_some()
        {
            return CrsError::Unsupported(format!("a {} CRS", table.trim_end_matches("_crs")));
        }
    }
    CrsError::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Axis orders as EPSG registers them (and GDAL's
    /// `OSREPSGTreatsAsNorthingEasting` agrees).
    #[test]
    fn axis_orders_follow_the_epsg_registry() {
        for (code, geographic, northing_first) in [
            (4326, true, true),
            (4258, true, true),
            (3413, false, false),
            (3031, false, false),
            (32633, false, false),
            (32733, false, false),
            (27700, false, false),
            (2154, false, false),
            (3035, false, true),
            (2180, false, true),
            (32661, false, true),
        ] {
            assert_eq!(
                axis_info(code),
                Ok(AxisInfo {
                    geographic,
                    northing_first
                }),
                "EPSG:{code}"
            );
        }
        assert_eq!(axis_info(99999), Err(CrsError::Unknown));
        assert!(matches!(axis_info(4978), Err(CrsError::Unsupported(_))));
        assert!(matches!(axis_info(5773), Err(CrsError::Unsupported(_))));
    }
}
