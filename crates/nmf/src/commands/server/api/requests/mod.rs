//! One handler per request. A request's handler takes what it needs from the session when the
//! request arrives; what takes time (a check) runs on the worker.

pub mod code_action;
