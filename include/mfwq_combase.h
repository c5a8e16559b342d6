/* mfwq_combase.h - placeholder, filled in by the porting-surface work. Included by mfwq_win32.h. */
#ifndef MFWQ_COMBASE_H_
#define MFWQ_COMBASE_H_
#endif
