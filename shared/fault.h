/* fault: crash points for the fault-injection tests.
 *
 * FAULT("name") marks a point where a crash must not lose a decision or
 * repeat an action.  In a build configured with --enable-fault-injection
 * (the test builds), a program whose environment has ORCH_FAULT=name (or
 * name:N, the N-th time the point is reached) kills itself with SIGKILL
 * there, after logging fault.injected; tests/e2e/e2e_faults.sh walks the
 * points.  ORCH_FAULT_TRACE=FILE appends the name of every point reached
 * to FILE (to check which points a scenario passes).  In other builds
 * FAULT() is nothing at all. */
#ifndef FAULT_H
#define FAULT_H

#ifdef ORCH_FAULT_INJECTION
void fault_point(const char *name);
#define FAULT(name) fault_point(name)
#else
#define FAULT(name) ((void)0)
#endif

#endif
