//! A one-field GRIB2 message whose sections 5–7 come from any
//! [`WriteGrib2PointValues`]. The `grib` crate's ready-made messages accept
//! only its own `GpvEncoder`; PNG packing needs this low-level plumbing.

use std::iter::{Once, once};

use grib::def::grib2::{Section1Payload, Section3Payload, Section4Payload};
use grib::encoder::{
    WriteGrib2Message, WriteGrib2MessageIterL1, WriteGrib2MessageIterL2, WriteGrib2MessageIterL3,
    WriteGrib2PointValues,
};

use super::DemoError;

/// Sections 0–8 of one message holding one field.
pub(crate) struct OneFieldMessage<D> {
    pub discipline: u8,
    pub ident: Section1Payload,
    pub grid: Section3Payload,
    pub product: Section4Payload,
    pub data: D,
}

impl<D: WriteGrib2PointValues> OneFieldMessage<D> {
    /// The encoded message.
    pub fn to_bytes(&self) -> Result<Vec<u8>, DemoError> {
        let mut buf = vec![0; WriteGrib2Message::num_octets(self)];
        let n =
            WriteGrib2Message::write(self, &mut buf).map_err(|e| DemoError::Encode(e.into()))?;
        buf.truncate(n);
        Ok(buf)
    }
}

impl<D: WriteGrib2PointValues> WriteGrib2Message for OneFieldMessage<D> {
    type S1<'a>
        = Section1Payload
    where
        Self: 'a;
    type Item<'a>
        = &'a Self
    where
        Self: 'a;
    type Iter<'a>
        = Once<&'a Self>
    where
        Self: 'a;

    fn discipline(&self) -> u8 {
        self.discipline
    }

    fn section1(&self) -> &Self::S1<'_> {
        &self.ident
    }

    fn iter(&self) -> Self::Iter<'_> {
        once(self)
    }
}

impl<D: WriteGrib2PointValues> WriteGrib2MessageIterL1 for OneFieldMessage<D> {
    // No local-use section; the slice type only names what would write one.
    type S2<'a>
        = &'static [u8]
    where
        Self: 'a;
    type Item<'a>
        = &'a Self
    where
        Self: 'a;
    type Iter<'a>
        = Once<&'a Self>
    where
        Self: 'a;

    fn section2(&self) -> Option<&Self::S2<'_>> {
        None
    }

    fn iter(&self) -> Self::Iter<'_> {
        once(self)
    }
}

impl<D: WriteGrib2PointValues> WriteGrib2MessageIterL2 for OneFieldMessage<D> {
    type S3<'a>
        = Section3Payload
    where
        Self: 'a;
    type Item<'a>
        = &'a Self
    where
        Self: 'a;
    type Iter<'a>
        = Once<&'a Self>
    where
        Self: 'a;

    fn section3(&self) -> &Self::S3<'_> {
        &self.grid
    }

    fn iter(&self) -> Self::Iter<'_> {
        once(self)
    }
}

impl<D: WriteGrib2PointValues> WriteGrib2MessageIterL3 for OneFieldMessage<D> {
    type S4<'a>
        = Section4Payload
    where
        Self: 'a;
    type SD<'a>
        = D
    where
        Self: 'a;

    fn section4(&self) -> &Self::S4<'_> {
        &self.product
    }

    fn data_sections(&self) -> &Self::SD<'_> {
        &self.data
    }
}
