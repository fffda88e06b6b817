//! The worker: one thread that runs the checks (and the requests that check) one at a time,
//! each with a [`CancelToken`] the linter polls, while the main loop goes on reading messages.
//! A job whose token is cancelled before it starts is not run; one cancelled while it runs
//! stops between the statements it checks.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, Sender, channel};

use nmf_linter::cancel::CancelToken;

use super::api::diagnostics::CheckOutcome;
use super::api::requests::code_action::Answer;
use super::api::workspace::WorkspaceOutcome;
use super::main_loop::Event;

/// What a job gave.
pub enum Done {
    Checked(CheckOutcome),
    Answered(Answer),
    Workspace(WorkspaceOutcome),
}

/// How a job ended.
pub enum Finished {
    Done(Done),
    /// Cancelled before it started.
    Cancelled,
    /// The job panicked (a bug): what it said.
    Panicked(String),
}

pub struct Job {
    pub id: u64,
    pub token: CancelToken,
    /// Runs with `token` set for the checks it makes on this thread, and given to it for the
    /// work it hands to others.
    pub work: Box<dyn FnOnce(&CancelToken) -> Done + Send>,
}

pub struct Worker {
    jobs: Sender<Job>,
}

/// For tests: before each job, the worker says it `arrived` and waits to `proceed` (or for
/// the sender to be dropped), so that a test decides what happens while a check waits.
pub struct Hold {
    pub arrived: Sender<()>,
    pub proceed: Receiver<()>,
}

/// The worker's stack: a check's parser and walk recurse as deep as the code nests (the walk
/// grows its stack on the heap past a margin); as much as the main thread has.
const STACK_SIZE: usize = 8 * 1024 * 1024;

impl Worker {
    /// A worker that tells `events` of each job's end.
    pub fn spawn(events: Sender<Event>, hold: Option<Hold>) -> std::io::Result<Self> {
        let (jobs, receiver) = channel::<Job>();
        std::thread::Builder::new()
            .name("nmf-worker".to_string())
            .stack_size(STACK_SIZE)
            .spawn(move || serve(&receiver, &events, hold.as_ref()))?;
        Ok(Self { jobs })
    }

    pub fn start(&self, job: Job) {
        // The worker ends only when this sender is dropped.
        let _ = self.jobs.send(job);
    }
}

fn serve(jobs: &Receiver<Job>, events: &Sender<Event>, hold: Option<&Hold>) {
    for job in jobs {
        if let Some(hold) = hold {
            let _ = hold.arrived.send(());
            let _ = hold.proceed.recv();
        }
        let finished = if job.token.is_cancelled() {
            Finished::Cancelled
        } else {
            let token = job.token;
            let work = job.work;
            match std::panic::catch_unwind(AssertUnwindSafe(|| token.scope(|| work(&token)))) {
                Ok(done) => Finished::Done(done),
                Err(panic) => Finished::Panicked(
                    panic
                        .downcast_ref::<&str>()
                        .map(|text| (*text).to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".to_string()),
                ),
            }
        };
        if events.send(Event::Finished(job.id, finished)).is_err() {
            return;
        }
    }
}
