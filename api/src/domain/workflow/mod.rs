//! The case workflow: states and who may move a case, deadlines on a working calendar.

pub mod calendar;
pub mod case;
pub mod catalogue;
pub mod colour;
pub mod confirmation;
pub mod state;
