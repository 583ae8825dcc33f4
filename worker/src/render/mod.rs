//! Drawing tiles from grids: sample → style → encode.
