//! Links the system libaec (Debian `libaec-dev`, which libhdf5-dev and so
//! libnetcdf-dev already pull in). The bundled build of the `libaec-sys`
//! crate needs cmake >= 3.26, which Debian 12 does not have.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-link-lib=aec");
}
