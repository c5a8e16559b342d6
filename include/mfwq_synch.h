/* mfwq_synch.h - placeholder, filled in by the porting-surface work. Included by mfwq_win32.h. */
#ifndef MFWQ_SYNCH_H_
#define MFWQ_SYNCH_H_
#endif
