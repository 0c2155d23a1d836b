/** H3 resolution of the `cell` of every record (res 8: cells of about 0.74 km², edge about 460 m). */
export const CELL_RESOLUTION = 8;
