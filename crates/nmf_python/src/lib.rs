//! The nmf engine for Python: the flake8 plugin calls [`check`], the `nmf` console script calls
//! [`main`]. No rule logic lives in Python.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;

/// Checks one file's text as flake8 read it; returns `(line, column, "CODE message")` tuples
/// with flake8's 1-based line and 0-based byte column.
#[pyfunction]
#[pyo3(signature = (source, filename, known_modules_only = false))]
fn check(
    py: Python<'_>,
    // Borrowed from the Python string's UTF-8 form where the interpreter keeps one: no second
    // copy of every file's text.
    source: PyBackedStr,
    filename: String,
    known_modules_only: bool,
) -> Vec<(usize, usize, String)> {
    py.detach(move || {
        nmf_driver::flake8::check_for_flake8(&source, &filename, known_modules_only)
            .into_iter()
            .map(|finding| (finding.line, finding.column, finding.text))
            .collect()
    })
}

/// Runs the `nmf` command line in this process with `argv` (program name first); returns the
/// exit status.
#[pyfunction]
fn main(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(move || nmf::run(argv))
}

/// Decodes `data` with nmf's table of CPython's codec `codec` (for the tests that compare it
/// with CPython); raises `ValueError` with CPython's message when it does not decode, and
/// `LookupError` for a codec nmf has no table for.
#[pyfunction]
fn decode(codec: &str, data: &[u8]) -> PyResult<String> {
    let table = nmf_driver::source::codecs::lookup(codec).ok_or_else(|| {
        pyo3::exceptions::PyLookupError::new_err(format!("nmf has no table for {codec}"))
    })?;
    table.decode(data, None).map_err(|error| {
        pyo3::exceptions::PyValueError::new_err(format!(
            "'{}' codec can't decode byte {:#04x} in position {}: {}",
            error.codec, error.byte, error.position, error.reason
        ))
    })
}

#[pymodule]
fn _nmf(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_function(wrap_pyfunction!(check, module)?)?;
    module.add_function(wrap_pyfunction!(main, module)?)?;
    module.add_function(wrap_pyfunction!(decode, module)?)?;
    Ok(())
}
