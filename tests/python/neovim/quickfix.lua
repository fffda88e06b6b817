-- Drives `nmf server` from Neovim's built-in LSP client (0.7 and later): waits for the
-- diagnostic on the open buffer, prints it, applies the preferred quick fix, waits for the
-- diagnostic to be cleared and writes the file. Exits 0 on success, 3 when no diagnostic came, 4 when no quick fix was offered.
local nmf = os.getenv("NMF")
local client_id = vim.lsp.start_client({
  name = "nmf",
  cmd = { nmf, "server" },
  root_dir = vim.fn.getcwd(),
})
vim.lsp.buf_attach_client(0, client_id)

local arrived = vim.wait(30000, function()
  return #vim.diagnostic.get(0) > 0
end, 20)
if not arrived then
  io.stderr:write("no diagnostic arrived\n")
  vim.cmd("cquit 3")
end

local first = vim.diagnostic.get(0)[1]
io.stdout:write(string.format("diagnostic %d:%d %s %s\n", first.lnum + 1, first.col + 1,
  first.code or (first.user_data and first.user_data.lsp and first.user_data.lsp.code) or "?",
  first.message))

-- The diagnostic as the server sent it (range in the server's encoding, `data` with the fix).
local lsp_diagnostics = vim.lsp.diagnostic.get_line_diagnostics(0, first.lnum)
local params = {
  textDocument = vim.lsp.util.make_text_document_params(0),
  range = lsp_diagnostics[1].range,
  context = { diagnostics = lsp_diagnostics },
}
local replies = vim.lsp.buf_request_sync(0, "textDocument/codeAction", params, 10000) or {}
local client = vim.lsp.get_client_by_id(client_id)
for _, reply in pairs(replies) do
  for _, action in ipairs(reply.result or {}) do
    if action.isPreferred and action.edit then
      io.stdout:write("applying: " .. action.title .. "\n")
      vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding or "utf-16")
      -- Neovim sends the edit as an incremental change; the server re-checks and clears.
      local cleared = vim.wait(30000, function()
        return #vim.diagnostic.get(0) == 0
      end, 20)
      io.stdout:write(cleared and "cleared\n" or "still reported\n")
      -- A line added at the end, then taken away: the server's text follows each change.
      vim.api.nvim_buf_set_lines(0, -1, -1, false, { "again = model.forward(y)" })
      vim.wait(30000, function()
        return #vim.diagnostic.get(0) == 1
      end, 20)
      local added = vim.diagnostic.get(0)[1]
      io.stdout:write(added and string.format("added %d:%d\n", added.lnum + 1, added.col + 1) or "none\n")
      vim.api.nvim_buf_set_lines(0, -2, -1, false, {})
      local removed = vim.wait(30000, function()
        return #vim.diagnostic.get(0) == 0
      end, 20)
      io.stdout:write(removed and "removed\n" or "still reported\n")
      vim.cmd("write")
      vim.cmd("qall!")
    end
  end
end
io.stderr:write("no quick fix was offered\n")
vim.cmd("cquit 4")
