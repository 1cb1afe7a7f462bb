/* fault: crash points for the fault-injection tests.
 *
 * FAULT("name") marks a point where a crash must not lose a decision or
 * repeat an action.  In a build configured with --enable-fault-injection
 * (the test builds), a program whose environment has ORCH_FAULT=name (or
 * name:N, the N-th time the point is reached) kills itself with SIGKILL
 * there, after logging fault.injected; tests/e2e/e2e_faults.sh walks the
 * points.  ORCH_FAULT_TRACE=FILE appends the name of every point reached
 * to FILE (to check which points a scenario passes).  FAULT_ARMED("name")
 * is nonzero when ORCH_FAULT_SOFT lists name (comma-separated): the code
 * then misbehaves on purpose at that point instead of dying (a write the
 * database refuses, ...).  In other builds FAULT() is nothing at all and
 * FAULT_ARMED() is 0. */
#ifndef FAULT_H
#define FAULT_H

#ifdef ORCH_FAULT_INJECTION
void fault_point(const char *name);
int fault_armed(const char *name);
#define FAULT(name) fault_point(name)
#define FAULT_ARMED(name) fault_armed(name)
#else
#define FAULT(name) ((void)0)
#define FAULT_ARMED(name) 0
#endif

#endif
