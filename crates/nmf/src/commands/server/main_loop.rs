//! The main loop: reads every message that has arrived and updates the session, then gives
//! the worker the next thing to do. One job runs at a time, in the order things became due:
//! the stale documents (each once, with its newest text) and the requests, each request
//! answered after the checks that were due when it arrived. A document edited while its check
//! runs cancels that check, so that the newer text is checked next; a `$/cancelRequest` for
//! a request not yet answered is answered "cancelled" at once.

use std::collections::VecDeque;

use lsp_server::{ErrorCode, Message as LspMessage, Notification, Request, RequestId, Response};
use lsp_types::notification::{Cancel, Notification as _};
use lsp_types::{CancelParams, NumberOrString};
use nmf_linter::cancel::CancelToken;

use super::api::diagnostics::CheckJob;
use super::api::{self, Answering, notifications, show_error};
use super::schedule::{Done, Finished, Job, Worker};
use super::session::Session;
use super::transport::Transport;

/// The error code LSP gives a request cancelled before it was answered.
const REQUEST_CANCELLED: i32 = -32800;

/// What the main loop waits for: a message from the client, or the end of a job.
pub enum Event {
    Client(LspMessage),
    /// The client closed its end.
    ClientGone,
    Finished(u64, Finished),
}

/// A request waiting for its turn.
struct Pending {
    /// It comes after the documents that were stale when it arrived (see [`StaleQueue::ticket`]).
    ///
    /// [`StaleQueue::ticket`]: super::session::StaleQueue::ticket
    ticket: u64,
    id: RequestId,
    answering: Answering,
}

/// The job on the worker.
enum Running {
    Check {
        job: u64,
        unit: String,
        token: CancelToken,
        /// The project's change number when it started.
        started: u64,
    },
    Request {
        job: u64,
        id: RequestId,
        token: CancelToken,
        /// Answered already ("cancelled"): what the job gives is dropped.
        answered: bool,
    },
}

pub struct MainLoop<'a> {
    transport: &'a Transport,
    session: Session,
    worker: Worker,
    requests: VecDeque<Pending>,
    running: Option<Running>,
    next_job: u64,
    /// `shutdown` was asked: nothing more is checked, requests are refused.
    shut_down: bool,
}

impl<'a> MainLoop<'a> {
    pub fn new(transport: &'a Transport, session: Session, worker: Worker) -> Self {
        Self {
            transport,
            session,
            worker,
            requests: VecDeque::new(),
            running: None,
            next_job: 0,
            shut_down: false,
        }
    }

    /// Serves until `exit`: status 0 after `shutdown`, 1 without (as the specification says).
    pub fn run(mut self) -> u8 {
        loop {
            let Ok(event) = self.transport.receiver.recv() else {
                return 1;
            };
            if let Some(status) = self.handle(event) {
                return status;
            }
            // Everything that has arrived is handled before the worker gets more to do.
            while let Ok(event) = self.transport.receiver.try_recv() {
                if let Some(status) = self.handle(event) {
                    return status;
                }
            }
            self.dispatch();
        }
    }

    /// Handles one event; the exit status when it is `exit`.
    fn handle(&mut self, event: Event) -> Option<u8> {
        match event {
            Event::Client(LspMessage::Request(request)) => self.request(request),
            Event::Client(LspMessage::Notification(notification)) => {
                if notification.method == "exit" {
                    return Some(u8::from(!self.shut_down));
                }
                self.notification(notification);
            }
            Event::Client(LspMessage::Response(_)) => {}
            Event::ClientGone => return Some(1),
            Event::Finished(job, finished) => self.finished(job, finished),
        }
        None
    }

    fn request(&mut self, request: Request) {
        if self.shut_down {
            self.transport.send(Response::new_err(
                request.id,
                ErrorCode::InvalidRequest as i32,
                "the server is shutting down".to_string(),
            ));
            return;
        }
        let id = request.id.clone();
        let answering = if request.method == "shutdown" {
            // Nothing more is checked; the requests before it are still answered.
            self.shut_down = true;
            self.session.stale.clear();
            if let Some(Running::Check { token, .. }) = &self.running {
                token.cancel();
            }
            Answering::Ready(Response::new_ok(id.clone(), ()))
        } else {
            api::request(&self.session, request)
        };
        self.requests.push_back(Pending {
            ticket: self.session.stale.ticket(),
            id,
            answering,
        });
    }

    fn notification(&mut self, notification: Notification) {
        match notification.method.as_str() {
            "initialized" => {
                if self.session.capabilities.watches_files {
                    self.transport.send(api::watch_files_request());
                }
            }
            Cancel::METHOD => {
                if let Ok(params) = serde_json::from_value::<CancelParams>(notification.params) {
                    self.cancel(&match params.id {
                        NumberOrString::Number(number) => RequestId::from(number),
                        NumberOrString::String(text) => RequestId::from(text),
                    });
                }
            }
            _ => {
                for publish in notifications::handle(&mut self.session, notification) {
                    self.transport.send_out(publish);
                }
                if self.shut_down {
                    self.session.stale.clear();
                }
                // The running check's document changed again: its findings would be stale.
                if let Some(Running::Check { unit, token, .. }) = &self.running
                    && self.session.stale.contains(unit)
                {
                    token.cancel();
                }
            }
        }
    }

    /// Answers a request not answered yet "cancelled", and drops its work.
    fn cancel(&mut self, id: &RequestId) {
        if let Some(position) = self.requests.iter().position(|pending| pending.id == *id) {
            self.requests.remove(position);
        } else if let Some(Running::Request {
            id: running,
            token,
            answered,
            ..
        }) = &mut self.running
            && running == id
            && !*answered
        {
            token.cancel();
            *answered = true;
        } else {
            return;
        }
        self.transport.send(cancelled(id.clone()));
    }

    fn finished(&mut self, job: u64, finished: Finished) {
        let running = match &self.running {
            Some(Running::Check { job: known, .. } | Running::Request { job: known, .. })
                if *known == job =>
            {
                self.running.take()
            }
            _ => None,
        };
        match (running, finished) {
            (
                Some(Running::Check { token, started, .. }),
                Finished::Done(Done::Checked(outcome)),
            ) if !token.is_cancelled() => {
                for publish in self.session.finish_check(outcome, started) {
                    self.transport.send_out(publish);
                }
            }
            (Some(Running::Check { unit, .. }), Finished::Panicked(panic)) => {
                let message = format!("nmf: checking {unit} failed: {panic}");
                self.session.outbox.push(show_error(message));
            }
            (
                Some(Running::Request {
                    id,
                    answered: false,
                    ..
                }),
                finished,
            ) => {
                let response = match finished {
                    Finished::Done(Done::Answered(answer)) => {
                        if let Some(error) = answer.error {
                            self.session.tell(error);
                        }
                        Response::new_ok(id, answer.actions)
                    }
                    Finished::Panicked(panic) => Response::new_err(
                        id,
                        ErrorCode::InternalError as i32,
                        format!("nmf: {panic}"),
                    ),
                    Finished::Done(Done::Checked(_)) | Finished::Cancelled => cancelled(id),
                };
                self.transport.send(response);
            }
            // Cancelled: its document is stale again, or the server shuts down.
            _ => {}
        }
        self.flush_outbox();
    }

    /// Gives the worker the next job, answering the requests that need none on the way.
    fn dispatch(&mut self) {
        while self.running.is_none() {
            let check_first = match (self.session.stale.front(), self.requests.front()) {
                (Some((number, _)), Some(pending)) => number < pending.ticket,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => return,
            };
            if check_first {
                let Some(unit) = self.session.stale.pop_front() else {
                    return;
                };
                if let Some(check) = CheckJob::of(&self.session, &unit) {
                    let started = self.session.project.begin_check();
                    let (job, token) = self.start(Box::new(move || Done::Checked(check.run())));
                    self.running = Some(Running::Check {
                        job,
                        unit,
                        token,
                        started,
                    });
                }
                continue;
            }
            let Some(pending) = self.requests.pop_front() else {
                return;
            };
            match pending.answering {
                Answering::Ready(response) => {
                    self.transport.send(response);
                    self.flush_outbox();
                }
                Answering::CodeAction(answer) => {
                    let (job, token) = self.start(Box::new(move || Done::Answered(answer.run())));
                    self.running = Some(Running::Request {
                        job,
                        id: pending.id,
                        token,
                        answered: false,
                    });
                }
            }
        }
    }

    /// Starts `work` on the worker: its job's number and token.
    fn start(&mut self, work: Box<dyn FnOnce() -> Done + Send>) -> (u64, CancelToken) {
        let id = self.next_job;
        self.next_job += 1;
        let token = CancelToken::new();
        self.worker.start(Job {
            id,
            token: token.clone(),
            work,
        });
        (id, token)
    }

    fn flush_outbox(&mut self) {
        for message in self.session.outbox.drain(..) {
            self.transport.send_out(message);
        }
    }
}

fn cancelled(id: RequestId) -> Response {
    Response::new_err(id, REQUEST_CANCELLED, "cancelled".to_string())
}
