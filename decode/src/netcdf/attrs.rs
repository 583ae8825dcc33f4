//! Reading NetCDF attributes and scalar variables as the numbers and text
//! a reader needs, whatever type the producer stored them in.

use netcdf::{AttributeValue, File, Variable};

use crate::error::DecodeError;

/// A NetCDF problem, naming what was being read.
pub(crate) fn err(what: impl std::fmt::Display) -> DecodeError {
    DecodeError::NetCdf(what.to_string())
}

/// The first number of an attribute value, as f64.
pub(crate) fn number(v: &AttributeValue) -> Option<f64> {
    use AttributeValue as A;
    Some(match v {
        A::Uchar(x) => f64::from(*x),
        A::Schar(x) => f64::from(*x),
        A::Ushort(x) => f64::from(*x),
        A::Short(x) => f64::from(*x),
        A::Uint(x) => f64::from(*x),
        A::Int(x) => f64::from(*x),
        A::Float(x) => f64::from(*x),
        A::Double(x) => *x,
        A::Uchars(x) => f64::from(*x.first()?),
        A::Schars(x) => f64::from(*x.first()?),
        A::Ushorts(x) => f64::from(*x.first()?),
        A::Shorts(x) => f64::from(*x.first()?),
        A::Uints(x) => f64::from(*x.first()?),
        A::Ints(x) => f64::from(*x.first()?),
        A::Floats(x) => f64::from(*x.first()?),
        A::Doubles(x) => *x.first()?,
        _ => return None,
    })
}

/// A variable's attribute, found among those it has. Looking a missing
/// name up directly makes HDF5 print an error stack on every thread but
/// the one libnetcdf silenced; listing never fails.
fn var_attribute(var: &Variable<'_>, name: &str) -> Option<AttributeValue> {
    var.attributes().find(|a| a.name() == name)?.value().ok()
}

/// A variable's numeric attribute.
pub(crate) fn var_number(var: &Variable<'_>, name: &str) -> Option<f64> {
    number(&var_attribute(var, name)?)
}

/// A variable's text attribute.
pub(crate) fn var_text(var: &Variable<'_>, name: &str) -> Option<String> {
    match var_attribute(var, name)? {
        AttributeValue::Str(s) => Some(s),
        _ => None,
    }
}

/// A global text attribute.
pub(crate) fn global_text(file: &File, name: &str) -> Option<String> {
    match file.attributes().find(|a| a.name() == name)?.value().ok()? {
        AttributeValue::Str(s) => Some(s),
        _ => None,
    }
}

/// A numeric attribute that must be there.
pub(crate) fn required(var: &Variable<'_>, name: &str) -> Result<f64, DecodeError> {
    var_number(var, name)
        .filter(|v| v.is_finite())
        .ok_or_else(|| err(format!("{}: attribute {name} is missing", var.name())))
}

/// A scalar variable's value as f64 (e.g. `planck_fk1`), `None` when it
/// is missing or holds its `_FillValue`.
pub(crate) fn scalar(file: &File, name: &str) -> Option<f64> {
    let var = file.variable(name)?;
    if var.len() != 1 {
        return None;
    }
    let v: f64 = var.get_value::<f64, _>(..).ok()?;
    let fill = var_number(&var, "_FillValue");
    (v.is_finite() && fill.is_none_or(|f| f != v)).then_some(v)
}
