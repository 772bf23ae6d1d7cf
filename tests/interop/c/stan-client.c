/*
 * A NATS Streaming service written with the official C client (nats.c's STAN API, Debian's
 * libnats-dev): publishes COUNT messages to SUBJECT, each acknowledged by the server, then reads
 * the channel through a durable subscription with manual acks, delivering all available on its
 * first run and resuming where it left off on the next. Prints one line per message received
 * ("<seq> <data> <redelivered 0|1>") and "done <n>" once COUNT new messages came; exits non-zero
 * with the STAN error text when a call fails.
 *
 *   stan-client URL CLUSTER_ID CLIENT_ID SUBJECT COUNT PREFIX
 *
 * Build: cc -DNATS_HAS_STREAMING -o stan-client stan-client.c -lnats -lpthread
 * (nats.h declares the STAN API only with NATS_HAS_STREAMING; Debian's library is built with it).
 */
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long to wait for the COUNT messages to arrive. */
#define WAIT_MS 10000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int received;
static int wanted;
static int failed;

static void onMsg(stanConnection *sc, stanSubscription *sub, const char *channel, stanMsg *msg, void *closure) {
  (void)sc;
  (void)channel;
  (void)closure;
  printf("%llu %.*s %d\n", (unsigned long long)stanMsg_GetSequence(msg), stanMsg_GetDataLength(msg), stanMsg_GetData(msg),
         stanMsg_IsRedelivered(msg) ? 1 : 0);
  fflush(stdout);
  if (stanSubscription_AckMsg(sub, msg) != NATS_OK) failed = 1;
  stanMsg_Destroy(msg);
  pthread_mutex_lock(&mu);
  if (++received >= wanted) pthread_cond_signal(&cond);
  pthread_mutex_unlock(&mu);
}

static int fail(const char *what, natsStatus s) {
  fprintf(stderr, "%s: %s (%s)\n", what, natsStatus_GetText(s), nats_GetLastError(NULL));
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: stan-client URL CLUSTER_ID CLIENT_ID SUBJECT COUNT PREFIX\n");
    return 2;
  }
  const char *url = argv[1], *cluster = argv[2], *client = argv[3], *subject = argv[4], *prefix = argv[6];
  wanted = atoi(argv[5]);
  stanConnOptions *opts = NULL;
  stanConnection *sc = NULL;
  stanSubOptions *subOpts = NULL;
  stanSubscription *sub = NULL;
  natsStatus s = stanConnOptions_Create(&opts);
  if (s == NATS_OK) s = stanConnOptions_SetURL(opts, url);
  if (s == NATS_OK) s = stanConnOptions_SetConnectionWait(opts, 5000);
  if (s != NATS_OK) return fail("options", s);
  if ((s = stanConnection_Connect(&sc, cluster, client, opts)) != NATS_OK) return fail("connect", s);
  for (int i = 1; i <= wanted; i++) {
    char data[128];
    int n = snprintf(data, sizeof data, "%s-%d", prefix, i);
    /* Synchronous: returns once the server acknowledged the message as stored. */
    if ((s = stanConnection_Publish(sc, subject, data, n)) != NATS_OK) return fail("publish", s);
  }
  s = stanSubOptions_Create(&subOpts);
  if (s == NATS_OK) s = stanSubOptions_DeliverAllAvailable(subOpts);
  if (s == NATS_OK) s = stanSubOptions_SetDurableName(subOpts, "c-durable");
  if (s == NATS_OK) s = stanSubOptions_SetManualAckMode(subOpts, true);
  if (s == NATS_OK) s = stanSubOptions_SetAckWait(subOpts, 5000);
  if (s != NATS_OK) return fail("subscription options", s);
  if ((s = stanConnection_Subscribe(&sub, sc, subject, onMsg, NULL, subOpts)) != NATS_OK) return fail("subscribe", s);
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += WAIT_MS / 1000;
  pthread_mutex_lock(&mu);
  while (received < wanted && pthread_cond_timedwait(&cond, &mu, &deadline) == 0) {
  }
  int got = received;
  pthread_mutex_unlock(&mu);
  /* Close, not unsubscribe: the durable keeps its position for the next run. */
  if ((s = stanSubscription_Close(sub)) != NATS_OK) return fail("subscription close", s);
  if ((s = stanConnection_Close(sc)) != NATS_OK) return fail("close", s);
  stanSubscription_Destroy(sub);
  stanSubOptions_Destroy(subOpts);
  stanConnection_Destroy(sc);
  stanConnOptions_Destroy(opts);
  printf("done %d\n", got);
  return got == wanted && !failed ? 0 : 3;
}
