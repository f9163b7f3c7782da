// Which Node runs a bench child: this process's own, unless the system names another (`node` in its entry).
export function execPathFor(_cfg) {
  return process.execPath;
}
