// getOriginalDestination(fd) -> { address, port, family }
//
// A connection that iptables REDIRECTed to a local listener arrives with the listener's own
// address as its local end; the address the client really dialled is kept by conntrack and is
// only reachable through getsockopt(SO_ORIGINAL_DST), which Node does not expose.
#define NAPI_VERSION 8
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

// From linux/netfilter_ipv6/ip6_tables.h, which drags in kernel-only headers on some libcs.
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

#ifndef NODE_GYP_MODULE_NAME
#define NODE_GYP_MODULE_NAME original_dst
#endif

static const char *errno_name(int err) {
  switch (err) {
    case ENOENT: return "ENOENT"; // no conntrack entry: the connection was not NATed
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOTCONN: return "ENOTCONN";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    default: return "EUNKNOWN";
  }
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value code, msg, error;
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_value errno_value;
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
  return NULL;
}

static napi_value make_result(napi_env env, const char *address, unsigned port, int family) {
  napi_value result, address_value, port_value, family_value;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &address_value);
  napi_create_uint32(env, port, &port_value);
  napi_create_uint32(env, (uint32_t)family, &family_value);
  napi_set_named_property(env, result, "address", address_value);
  napi_set_named_property(env, result, "port", port_value);
  napi_set_named_property(env, result, "family", family_value);
  return result;
}

static napi_value ipv4_result(napi_env env, const struct sockaddr_in *sin) {
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
  return make_result(env, text, ntohs(sin->sin_port), 4);
}

static napi_value get_original_destination(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "getOriginalDestination: expected a file descriptor (a non-negative integer)");
    return NULL;
  }

  struct sockaddr_storage local;
  socklen_t local_len = sizeof local;
  if (getsockname(fd, (struct sockaddr *)&local, &local_len) != 0) {
    return throw_errno(env, "getOriginalDestination: getsockname", errno);
  }

  if (local.ss_family == AF_INET) {
    struct sockaddr_in original;
    socklen_t len = sizeof original;
    if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &original, &len) != 0) {
      return throw_errno(env, "getOriginalDestination: SO_ORIGINAL_DST", errno);
    }
    return ipv4_result(env, &original);
  }

  if (local.ss_family == AF_INET6) {
    // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; their conntrack entry is an
    // IPv4 one, so it is the IPv4 option that knows their destination.
    const struct sockaddr_in6 *local6 = (const struct sockaddr_in6 *)&local;
    if (IN6_IS_ADDR_V4MAPPED(&local6->sin6_addr)) {
      struct sockaddr_in original;
      socklen_t len = sizeof original;
      if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &original, &len) != 0) {
        return throw_errno(env, "getOriginalDestination: SO_ORIGINAL_DST", errno);
      }
      return ipv4_result(env, &original);
    }
    struct sockaddr_in6 original;
    socklen_t len = sizeof original;
    if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &original, &len) != 0) {
      return throw_errno(env, "getOriginalDestination: IP6T_SO_ORIGINAL_DST", errno);
    }
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &original.sin6_addr, text, sizeof text);
    return make_result(env, text, ntohs(original.sin6_port), 6);
  }

  napi_throw_error(env, "EAFNOSUPPORT", "getOriginalDestination: not a TCP/IP socket");
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "getOriginalDestination", NAPI_AUTO_LENGTH, get_original_destination, NULL, &fn);
  napi_set_named_property(env, exports, "getOriginalDestination", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
