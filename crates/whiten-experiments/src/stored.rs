//! Exact serde forms of the model types that task results hold (faer matrices, images,
//! circuits), so that a sharded run can store its tasks' results and a merge get them back
//! bit for bit ([`crate::shard`]). whiten-core knows no serde; its types are converted here
//! through their public accessors and constructors.
//!
//! A field of such a type takes `#[serde(with = "crate::stored")]`; a tuple element is
//! wrapped in [`Exact`].

use faer::Mat;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use whiten_core::circuit::{BDerivative, Circuit, CircuitOptions, SolverOptions};
use whiten_core::signal::Image;

/// A type with an exact serialisable form.
pub trait Stored: Sized {
    /// The plain-data form.
    type Form: Serialize + DeserializeOwned;
    /// The form of `self`.
    fn to_form(&self) -> Self::Form;
    /// Back from the form; an error for a form no value has.
    fn from_form(form: Self::Form) -> Result<Self, String>;
}

/// A matrix: shape and column-major entries.
#[derive(Serialize, Deserialize)]
pub struct MatForm {
    nrows: usize,
    ncols: usize,
    data: Vec<f64>,
}

impl Stored for Mat<f64> {
    type Form = MatForm;
    fn to_form(&self) -> MatForm {
        let (nrows, ncols) = (self.nrows(), self.ncols());
        let data = (0..ncols)
            .flat_map(|j| (0..nrows).map(move |i| self[(i, j)]))
            .collect();
        MatForm { nrows, ncols, data }
    }
    fn from_form(f: MatForm) -> Result<Self, String> {
        if f.nrows.checked_mul(f.ncols) != Some(f.data.len()) {
            return Err(format!(
                "a {} x {} matrix with {} entries",
                f.nrows,
                f.ncols,
                f.data.len()
            ));
        }
        Ok(Mat::from_fn(f.nrows, f.ncols, |i, j| {
            f.data[j * f.nrows + i]
        }))
    }
}

/// An image: its size and row-major pixels.
#[derive(Serialize, Deserialize)]
pub struct ImageForm {
    width: usize,
    height: usize,
    pixels: Vec<f64>,
}

impl Stored for Image {
    type Form = ImageForm;
    fn to_form(&self) -> ImageForm {
        ImageForm {
            width: self.width,
            height: self.height,
            pixels: self.pixels.clone(),
        }
    }
    fn from_form(f: ImageForm) -> Result<Self, String> {
        if f.width.checked_mul(f.height) != Some(f.pixels.len()) {
            return Err(format!(
                "a {} x {} image with {} pixels",
                f.width,
                f.height,
                f.pixels.len()
            ));
        }
        Ok(Image {
            width: f.width,
            height: f.height,
            pixels: f.pixels,
        })
    }
}

/// A circuit: everything [`Circuit::from_parts`] needs.
#[derive(Serialize, Deserialize)]
pub struct CircuitForm {
    n: usize,
    k: usize,
    w: Vec<f64>,
    g: Vec<f64>,
    theta: Vec<f64>,
    /// `b'(theta)`: false for the authors' reference, true for the exact derivative.
    exact_b_derivative: bool,
    abs_tol: f64,
    rel_tol: f64,
    max_iterations: usize,
    directions: Option<Vec<usize>>,
}

impl Stored for Circuit {
    type Form = CircuitForm;
    fn to_form(&self) -> CircuitForm {
        let o = self.options();
        CircuitForm {
            n: self.n(),
            k: self.k(),
            w: self.w().to_vec(),
            g: self.g().to_vec(),
            theta: self.theta().to_vec(),
            exact_b_derivative: match o.b_derivative {
                BDerivative::Reference => false,
                BDerivative::Exact => true,
            },
            abs_tol: o.solver.abs_tol,
            rel_tol: o.solver.rel_tol,
            max_iterations: o.solver.max_iterations,
            directions: self.directions().map(<[usize]>::to_vec),
        }
    }
    fn from_form(f: CircuitForm) -> Result<Self, String> {
        let options = CircuitOptions {
            b_derivative: if f.exact_b_derivative {
                BDerivative::Exact
            } else {
                BDerivative::Reference
            },
            solver: SolverOptions {
                abs_tol: f.abs_tol,
                rel_tol: f.rel_tol,
                max_iterations: f.max_iterations,
            },
        };
        Circuit::from_parts(f.n, f.k, f.w, f.g, f.theta, options, f.directions)
            .map_err(|e| format!("not a circuit: {e}"))
    }
}

impl<T: Stored> Stored for Option<T> {
    type Form = Option<T::Form>;
    fn to_form(&self) -> Self::Form {
        self.as_ref().map(T::to_form)
    }
    fn from_form(f: Self::Form) -> Result<Self, String> {
        f.map(T::from_form).transpose()
    }
}

impl<T: Stored, const N: usize> Stored for [T; N] {
    type Form = Vec<T::Form>;
    fn to_form(&self) -> Self::Form {
        self.iter().map(T::to_form).collect()
    }
    fn from_form(f: Self::Form) -> Result<Self, String> {
        let len = f.len();
        let items = f
            .into_iter()
            .map(T::from_form)
            .collect::<Result<Vec<T>, String>>()?;
        items
            .try_into()
            .map_err(|_| format!("{len} items where {N} are expected"))
    }
}

/// `#[serde(with = "crate::stored")]`: serialises a [`Stored`] field through its form.
pub fn serialize<T: Stored, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    value.to_form().serialize(s)
}

/// `#[serde(with = "crate::stored")]`: deserialises a [`Stored`] field from its form.
pub fn deserialize<'de, T: Stored, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    T::from_form(T::Form::deserialize(d)?).map_err(D::Error::custom)
}

/// A [`Stored`] value that serialises (for tuple elements, where `with` does not reach).
#[derive(Debug, Clone)]
pub struct Exact<T>(pub T);

impl<T: Stored> Serialize for Exact<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize(&self.0, s)
    }
}

impl<'de, T: Stored> Deserialize<'de> for Exact<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize(d).map(Exact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::{decode, encode};

    fn round_trip<T: Stored>(v: &T) -> T {
        decode::<Exact<T>>(&encode(&Exact(v)).unwrap()).unwrap().0
    }

    impl<T: Stored> Stored for &T {
        type Form = T::Form;
        fn to_form(&self) -> T::Form {
            (*self).to_form()
        }
        fn from_form(_: T::Form) -> Result<Self, String> {
            Err("only serialises".into())
        }
    }

    #[test]
    fn matrices_images_and_circuits_come_back_bit_for_bit() {
        let m = Mat::from_fn(3, 2, |i, j| (i as f64 + 0.1) / (j as f64 + 0.3));
        let back = round_trip(&[m.clone(), Mat::zeros(0, 4)]);
        assert_eq!(back[0], m);
        assert_eq!((back[1].nrows(), back[1].ncols()), (0, 4));

        let img = Image {
            width: 3,
            height: 2,
            pixels: vec![0.1, 0.2, 0.3, f64::NAN, 0.5, 1.0 / 3.0],
        };
        let back = round_trip(&Some(img.clone())).unwrap();
        assert_eq!((back.width, back.height), (3, 2));
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.pixels), bits(&img.pixels));

        let c = Circuit::new(
            2,
            3,
            vec![1.0, 0.3, -0.2, 1.0, 0.7, 0.7],
            vec![0.2, 0.25, 0.3],
            vec![1.5, 2.0, 2.7],
            CircuitOptions::default(),
        )
        .unwrap()
        .with_components(&[1.0, 3.0])
        .unwrap();
        let back = round_trip(&c);
        assert_eq!(bits(back.w()), bits(c.w()));
        assert_eq!(bits(back.g()), bits(c.g()));
        assert_eq!(bits(back.theta()), bits(c.theta()));
        assert_eq!(back.directions(), c.directions());
        assert_eq!(back.options(), c.options());
        let (mut r1, mut r2) = ([0.0; 2], [0.0; 2]);
        c.respond(&[0.3, -1.2], &mut r1).unwrap();
        back.respond(&[0.3, -1.2], &mut r2).unwrap();
        assert_eq!(bits(&r1), bits(&r2));
    }
}
