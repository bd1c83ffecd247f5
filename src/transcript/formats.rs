//! One parser per platform export shape.
