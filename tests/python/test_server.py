"""`nmf server` driven by a real LSP client (pytest-lsp, on pygls) over stdio, as an editor
drives it: the client checks what the server sends against the specification."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

# The installed script; NMF_BINARY points at a development build instead.
NMF = os.environ.get("NMF_BINARY") or shutil.which("nmf", path=str(Path(sys.executable).parent))

SOURCE = (
    "import torch.nn as nn\n\n\n"
    "class Net(nn.Module):\n"
    "    def forward(self, x):\n"
    "        return x\n\n\n"
    "net = Net()\n"
    's = "\U0001F600\u00e9"; net.forward(s)\n'
)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[NMF, "server"]))
async def client(lsp_client: LanguageClient, tmp_path_factory):
    workspace = tmp_path_factory.mktemp("workspace")
    lsp_client.registrations = []

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams):
        # As an editor does: the server asks to be told of files changed on disk.
        lsp_client.registrations.extend(params.registrations)

    (workspace / "pyproject.toml").write_text("[tool.nmf]\n")
    # The capabilities Visual Studio Code announces: UTF-16 positions, notebooks, watchers.
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="workspace")],
        )
    )
    lsp_client.workspace_path = workspace
    yield
    await lsp_client.shutdown_session()


async def until(condition, seconds: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "the server did not publish in time"
        await asyncio.sleep(0.01)


def open_document(client: LanguageClient, uri: str, text: str) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )


@pytest.mark.asyncio
async def test_diagnostics_arrive_in_utf16_positions_and_fix_all_rewrites_the_call(client):
    uri = (client.workspace_path / "train.py").as_uri()
    open_document(client, uri, SOURCE)
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    [diagnostic] = client.diagnostics[uri]
    assert diagnostic.code == "NMF001"
    assert diagnostic.message == (
        "Do not call .forward() directly; use model(inputs) instead so DDP backward hooks run"
    )
    # After an emoji (two UTF-16 units) and an `é` (one): `net` is at unit 11 of line 10.
    assert diagnostic.range.start == types.Position(line=9, character=11)
    assert diagnostic.code_description.href.endswith("#module-forward-call-nmf001")

    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic]),
        )
    )
    titles = [action.title for action in actions]
    assert titles == [
        "Call `net(...)` instead, so that its hooks run",
        "Disable NMF001 for this line",
        "nmf: fix all",
    ]
    [fix_all] = [action for action in actions if action.kind == "source.fixAll.nmf"]
    [edit] = fix_all.edit.changes[uri]
    assert edit.new_text == SOURCE.replace("net.forward(s)", "net(s)")


@pytest.mark.asyncio
async def test_an_edit_that_removes_the_call_clears_the_diagnostic(client):
    uri = (client.workspace_path / "edit.py").as_uri()
    open_document(client, uri, SOURCE)
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert len(client.diagnostics[uri]) == 1
    # An incremental edit: `.forward` removed from the last line.
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=9, character=14),
                        end=types.Position(line=9, character=22),
                    ),
                    text="",
                )
            ],
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[uri]) == []


@pytest.mark.asyncio
async def test_notebook_cells_get_their_own_findings(client):
    notebook = (client.workspace_path / "explore.ipynb").as_uri()
    cells = [f"vscode-notebook-cell:{notebook[len('file:'):]}#c{n}" for n in (1, 2, 3)]
    client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=notebook,
                notebook_type="jupyter-notebook",
                version=1,
                cells=[
                    types.NotebookCell(kind=types.NotebookCellKind.Code, document=cell)
                    for cell in cells
                ],
            ),
            cell_text_documents=[
                types.TextDocumentItem(
                    uri=cells[0], language_id="python", version=1,
                    text="import torch\nlayer = torch.nn.Linear(2, 2)\n",
                ),
                # A code cell in another language is not Python: no syntax error for it.
                types.TextDocumentItem(
                    uri=cells[1], language_id="sql", version=1,
                    text="SELECT layer.forward(x) FROM runs\n",
                ),
                types.TextDocumentItem(
                    uri=cells[2], language_id="python", version=1,
                    text="!nvidia-smi\nout = layer.forward(x)\n",
                ),
            ],
        )
    )
    # The cells are published at once: wait until the last one's list is in.
    await until(lambda: cells[2] in client.diagnostics)
    assert list(client.diagnostics[cells[0]]) == []
    assert list(client.diagnostics[cells[1]]) == []
    [finding] = client.diagnostics[cells[2]]
    assert (finding.code, finding.range.start) == ("NMF001", types.Position(line=1, character=6))


@pytest.mark.asyncio
async def test_a_file_changed_on_disk_re_checks_the_open_file_that_imports_it(client):
    workspace = client.workspace_path
    (workspace / "base.py").write_text("import torch.nn as nn\n\n\nclass Base(nn.Module):\n    pass\n")
    uri = (workspace / "user.py").as_uri()
    open_document(client, uri, "from base import Base\n\nBase().forward(1)\n")
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert [d.code for d in client.diagnostics[uri]] == ["NMF001"]
    # The server asked the editor to watch Python files.
    [registration] = client.registrations
    assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    assert "**/*.py" in [w["globPattern"] for w in registration.register_options["watchers"]]
    (workspace / "base.py").write_text("class Base:\n    pass\n")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=(workspace / "base.py").as_uri(), type=types.FileChangeType.Changed)]
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[uri]) == []
