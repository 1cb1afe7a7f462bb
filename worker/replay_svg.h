/* replay_svg: the replay's picture (worker/replay.h, replay_score.h). */
#ifndef REPLAY_SVG_H
#define REPLAY_SVG_H

#include "replay_score.h"

/* The picture: per instrument price and rolling volatility over time,
 * top-decile windows shaded, decisions and scans marked.  Caller frees
 * (NULL when out of memory). */
char *replay_svg(const struct replay *r, const struct replay_score *sc);

#endif
