//! The main loop: reads every message that has arrived and updates the session, then gives
//! the worker the next thing to do. One job runs at a time, in the order things became due:
//! the stale documents (each once, with its newest text) and the requests, each request
//! answered after the checks that were due when it arrived. A document edited while its check
//! runs cancels that check, so that the newer text is checked next; a `$/cancelRequest` for
//! a request not yet answered is answered "cancelled" at once.
//!
//! The workspace's other files come last: they are checked when nothing else is due, and a
//! check of them is cancelled by anything the user waits for (an edit, a request), to start
//! again afterwards; what it had checked is in the cache by then.

use std::collections::VecDeque;

use lsp_server::{ErrorCode, Message as LspMessage, Notification, Request, RequestId, Response};
use lsp_types::notification::{Cancel, Notification as _};
use lsp_types::{CancelParams, NumberOrString};
use nmf_linter::cancel::CancelToken;

use lsp_types::PreviousResultId;

use super::api::diagnostics::CheckJob;
use super::api::workspace::WorkspaceJob;
use super::api::{self, Answering, notifications, show_error};
use super::schedule::{Done, Finished, Job, Worker};
use super::session::workspace::Taken;
use super::session::{PullReadiness, Session};
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
    /// A check of the workspace's files that are not open.
    Workspace {
        job: u64,
        token: CancelToken,
        /// What it took from the stale state.
        taken: Taken,
        /// The project's change number when it started.
        started: u64,
        /// The pull of a file that is not open it checks for.
        for_pull: Option<RequestId>,
    },
}

impl Running {
    fn job(&self) -> u64 {
        match self {
            Self::Check { job, .. } | Self::Request { job, .. } | Self::Workspace { job, .. } => {
                *job
            }
        }
    }
}

pub struct MainLoop<'a> {
    transport: &'a Transport,
    session: Session,
    worker: Worker,
    requests: VecDeque<Pending>,
    /// `workspace/diagnostic` requests, answered once nothing else is due.
    workspace_pulls: Vec<(RequestId, Vec<PreviousResultId>)>,
    running: Option<Running>,
    next_job: u64,
    /// The number of the next `workspace/diagnostic/refresh` request.
    next_refresh: u64,
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
            workspace_pulls: Vec::new(),
            running: None,
            next_job: 0,
            next_refresh: 0,
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
            self.refresh();
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
            if let Some(Running::Check { token, .. } | Running::Workspace { token, .. }) =
                &self.running
            {
                token.cancel();
            }
            Answering::Ready(Response::new_ok(id.clone(), ()))
        } else {
            api::request(&self.session, request)
        };
        if let Answering::WorkspacePull(previous) = answering {
            self.workspace_pulls.push((id, previous));
            return;
        }
        // The user waits for this: a check of the workspace waits instead.
        self.pause_workspace();
        self.requests.push_back(Pending {
            ticket: self.session.stale.ticket(),
            id,
            answering,
        });
    }

    /// Cancels the running check of the workspace, to start it again when nothing else is
    /// due.
    fn pause_workspace(&self) {
        if let Some(Running::Workspace { token, .. }) = &self.running {
            token.cancel();
        }
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
                if self.session.stale.front().is_some() {
                    self.pause_workspace();
                }
            }
        }
    }

    /// Answers a request not answered yet "cancelled", and drops its work.
    fn cancel(&mut self, id: &RequestId) {
        if let Some(position) = self.requests.iter().position(|pending| pending.id == *id) {
            self.requests.remove(position);
        } else if let Some(position) = self
            .workspace_pulls
            .iter()
            .position(|(pulled, _)| pulled == id)
        {
            self.workspace_pulls.remove(position);
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
            Some(running) if running.job() == job => self.running.take(),
            _ => None,
        };
        match (running, finished) {
            (
                Some(Running::Workspace {
                    taken,
                    started,
                    for_pull,
                    ..
                }),
                finished,
            ) => self.finished_workspace(taken, started, for_pull.as_ref(), finished),
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
                    Finished::Done(Done::Checked(_) | Done::Workspace(_)) | Finished::Cancelled => {
                        cancelled(id)
                    }
                };
                self.transport.send(response);
            }
            // Cancelled: its document is stale again, or the server shuts down.
            _ => {}
        }
        self.flush_outbox();
    }

    /// Keeps what a check of the workspace gave; cancelled, what it took is stale again (and
    /// the pull it was for waits for another).
    fn finished_workspace(
        &mut self,
        taken: Taken,
        started: u64,
        for_pull: Option<&RequestId>,
        finished: Finished,
    ) {
        let checked = match finished {
            Finished::Done(Done::Workspace(outcome)) => {
                let checked = outcome.files.is_some();
                for publish in self.session.finish_workspace(outcome, started) {
                    self.transport.send_out(publish);
                }
                checked
            }
            Finished::Panicked(panic) => {
                // Not tried again until something changes: it would panic again.
                self.session.workspace.abandon(&taken);
                let message = format!("nmf: checking the workspace failed: {panic}");
                self.session.outbox.push(show_error(message));
                true
            }
            Finished::Done(Done::Checked(_) | Done::Answered(_)) | Finished::Cancelled => {
                self.session.workspace.give_back(taken);
                false
            }
        };
        if !checked
            && let Some(id) = for_pull
            && let Some(Answering::Pull { checked_file, .. }) = self
                .requests
                .iter_mut()
                .find(|pending| pending.id == *id)
                .map(|pending| &mut pending.answering)
        {
            *checked_file = false;
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
                (None, None) => {
                    if !self.dispatch_workspace() {
                        return;
                    }
                    continue;
                }
            };
            if check_first {
                let Some(unit) = self.session.stale.pop_front() else {
                    return;
                };
                self.check(unit);
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
                    let (job, token) = self.start(Box::new(move |_: &CancelToken| {
                        Done::Answered(answer.run())
                    }));
                    self.running = Some(Running::Request {
                        job,
                        id: pending.id,
                        token,
                        answered: false,
                    });
                }
                Answering::Pull {
                    uri,
                    previous,
                    checked_file,
                } => match self.session.pull_readiness(&uri) {
                    PullReadiness::CheckUnit(unit) => {
                        // Its document is checked first, whatever else is stale.
                        self.session.stale.remove(&unit);
                        self.requests.push_front(Pending {
                            answering: Answering::Pull {
                                uri,
                                previous,
                                checked_file,
                            },
                            ..pending
                        });
                        self.check(unit);
                    }
                    PullReadiness::CheckFile(path) if !checked_file => {
                        let taken = self.session.workspace.take_file(&path);
                        let id = pending.id.clone();
                        self.requests.push_front(Pending {
                            answering: Answering::Pull {
                                uri,
                                previous,
                                checked_file: true,
                            },
                            ..pending
                        });
                        self.check_workspace(taken, Some(id));
                    }
                    PullReadiness::Ready | PullReadiness::CheckFile(_) => {
                        let answer =
                            self.session
                                .answer_pull(&pending.id, &uri, previous.as_deref());
                        self.transport.send_out(answer);
                        self.flush_outbox();
                    }
                },
                // Kept apart when it arrives (see `request`).
                Answering::WorkspacePull(previous) => {
                    self.workspace_pulls.push((pending.id, previous));
                }
            }
        }
    }

    /// With nothing else due: checks what is stale in the workspace (when it is reported, to
    /// a client that pulls only once it asks), or answers the workspace pulls; after
    /// `shutdown`, from what is known. Whether a job was started.
    fn dispatch_workspace(&mut self) -> bool {
        let capabilities = &self.session.capabilities;
        let check = capabilities.workspace_diagnostics
            && (!self.workspace_pulls.is_empty() || !capabilities.pulls_diagnostics)
            && !self.shut_down;
        if check && let Some(taken) = self.session.workspace.take() {
            self.check_workspace(taken, None);
            return true;
        }
        if self.workspace_pulls.is_empty() {
            return false;
        }
        for (id, previous) in std::mem::take(&mut self.workspace_pulls) {
            let answer = self.session.answer_workspace_pull(&id, &previous);
            self.transport.send_out(answer);
        }
        self.flush_outbox();
        false
    }

    /// Starts the check of the open document or notebook `unit`.
    fn check(&mut self, unit: String) {
        if let Some(check) = CheckJob::of(&self.session, &unit) {
            let started = self.session.project.begin_check();
            let (job, token) =
                self.start(Box::new(move |_: &CancelToken| Done::Checked(check.run())));
            self.running = Some(Running::Check {
                job,
                unit,
                token,
                started,
            });
        }
    }

    /// Starts a check of the workspace's files that are not open.
    fn check_workspace(&mut self, taken: Taken, for_pull: Option<RequestId>) {
        let check = WorkspaceJob::of(&self.session, taken.clone());
        let started = self.session.project.begin_check();
        let (job, token) = self.start(Box::new(move |token: &CancelToken| {
            Done::Workspace(check.run(token))
        }));
        self.running = Some(Running::Workspace {
            job,
            token,
            taken,
            started,
            for_pull,
        });
    }

    /// Asks a client that pulls to pull again, once, when the disk or the configuration
    /// changed, or a document's report changed while the client holds an older one that no
    /// pull waiting will replace.
    fn refresh(&mut self) {
        let session = &mut self.session;
        let requests = &self.requests;
        session.unseen.retain(|uri| {
            !requests.iter().any(|pending| {
                matches!(&pending.answering, Answering::Pull { uri: pulled, .. } if pulled == uri)
            })
        });
        let owed = std::mem::take(&mut session.refresh_owed) || !session.unseen.is_empty();
        session.unseen.clear();
        if owed
            && session.capabilities.pulls_diagnostics
            && session.capabilities.refreshes_diagnostics
            && !self.shut_down
        {
            self.transport.send(api::refresh_request(self.next_refresh));
            self.next_refresh += 1;
        }
    }

    /// Starts `work` on the worker: its job's number and token.
    fn start(&mut self, work: Box<dyn FnOnce(&CancelToken) -> Done + Send>) -> (u64, CancelToken) {
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
