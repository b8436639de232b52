/** Mode and open-flag bits Node's fs.constants does not export (Linux values). */

/** Set-user-ID bit. */
export const S_ISUID = 0o4000;
/** Set-group-ID bit. */
export const S_ISGID = 0o2000;
/** Access-mode part of the open flags (O_RDONLY/O_WRONLY/O_RDWR). */
export const O_ACCMODE = 0o3;
