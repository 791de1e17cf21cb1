! demos_maas: Fortran binding of libdemos_maas.so (bindings/c/demos_maas.h) through iso_c_binding.
!
! Arrays: a batch of n points of dimension d is a Fortran array x(d, n) — column-major x(d, n) has
! exactly the memory layout of the C ABI's row-major n x d, so nothing is copied or transposed.
!
! Errors: every function returns an integer status (MAAS_OK = 0 or a protocol error code 1..13);
! maas_last_error() gives the message of the last failed call on this thread, maas_status_name(status)
! the code's name.
!
! Server: model procedures are bind(C) Fortran functions with the interfaces maas_batch_fn /
! maas_sampler_fn below; they may run on several threads at once unless the model is registered with
! MAAS_MODEL_SERIAL (legacy code with SAVE or COMMON state: use MAAS_MODEL_SERIAL).  A model procedure
! reports failure by calling maas_callback_error('message') and returning non-zero.
module demos_maas
  use, intrinsic :: iso_c_binding
  implicit none
  private

  integer(c_int), parameter, public :: MAAS_OK = 0, MAAS_INVALID_ARGUMENT = 1, MAAS_NOT_FOUND = 2, &
       MAAS_UNSUPPORTED = 3, MAAS_MODEL_ERROR = 4, MAAS_DEADLINE_EXCEEDED = 5, MAAS_CANCELLED = 6, &
       MAAS_UNAUTHENTICATED = 7, MAAS_PERMISSION_DENIED = 8, MAAS_RESOURCE_EXHAUSTED = 9, &
       MAAS_UNAVAILABLE = 10, MAAS_PROTOCOL_ERROR = 11, MAAS_VERSION_MISMATCH = 12, MAAS_INTERNAL = 13
  integer(c_int), parameter, public :: MAAS_GRADIENT_X = 1, MAAS_GRADIENT_THETA = 2, &
       MAAS_GRADIENT_VJP = 3, MAAS_GRADIENT_JVP = 4
  integer(c_int32_t), parameter, public :: MAAS_MODEL_SERIAL = 1
  !> Capability bits of maas_model_capabilities (MAAS_CAP_* in demos_maas.h): iand(caps, MAAS_CAP_SAMPLE) /= 0.
  integer(c_int32_t), parameter, public :: MAAS_CAP_EVALUATE = 1, MAAS_CAP_LOG_DENSITY = 2, MAAS_CAP_SAMPLE = 4, &
       MAAS_CAP_GRADIENT_X = 8, MAAS_CAP_GRADIENT_THETA = 16, MAAS_CAP_EVALUATE_VJP = 32, MAAS_CAP_EVALUATE_JVP = 64, &
       MAAS_CAP_DATA = 128, MAAS_CAP_PARAMETERS = 256

  !> A client connection (maas_client); c_null_ptr until connected.
  type, public :: maas_client
     type(c_ptr) :: handle = c_null_ptr
  end type maas_client

  !> A server (maas_server).
  type, public :: maas_server
     type(c_ptr) :: handle = c_null_ptr
  end type maas_server

  !> maas_model_callbacks: c_funloc() of bind(C) procedures; c_null_funptr = capability absent.
  type, public, bind(C) :: maas_model_callbacks
     type(c_ptr) :: user_data = c_null_ptr
     type(c_funptr) :: log_density = c_null_funptr
     type(c_funptr) :: gradient = c_null_funptr
     type(c_funptr) :: gradient_theta = c_null_funptr
     type(c_funptr) :: evaluate = c_null_funptr
     type(c_funptr) :: vjp = c_null_funptr
     type(c_funptr) :: jvp = c_null_funptr
     type(c_funptr) :: sampler = c_null_funptr
  end type maas_model_callbacks

  ! The shapes model procedures must have (for reference; use them in your own interfaces).
  abstract interface
     integer(c_int) function maas_batch_fn(x, n, d, theta, p, out, user_data) bind(C)
       import :: c_int, c_int64_t, c_double, c_ptr
       integer(c_int64_t), value :: n, d, p
       real(c_double), intent(in) :: x(d, n), theta(p)
       real(c_double), intent(out) :: out(*)
       type(c_ptr), value :: user_data
     end function maas_batch_fn
     integer(c_int) function maas_sampler_fn(seed, n, d, theta, p, out, user_data) bind(C)
       import :: c_int, c_int64_t, c_double, c_ptr
       integer(c_int64_t), value :: seed, n, d, p
       real(c_double), intent(in) :: theta(p)
       real(c_double), intent(out) :: out(d, n)
       type(c_ptr), value :: user_data
     end function maas_sampler_fn
  end interface
  public :: maas_batch_fn, maas_sampler_fn

  interface
     type(c_ptr) function c_version() bind(C, name="maas_version")
       import :: c_ptr
     end function
     type(c_ptr) function c_last_error() bind(C, name="maas_last_error")
       import :: c_ptr
     end function
     type(c_ptr) function c_status_name(status) bind(C, name="maas_status_name")
       import :: c_ptr, c_int
       integer(c_int), value :: status
     end function
     integer(c_int) function c_model_input_dim(client, model, value) bind(C, name="maas_model_input_dim")
       import :: c_int, c_ptr, c_char, c_int64_t
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*)
       integer(c_int64_t), intent(out) :: value
     end function
     integer(c_int) function c_model_output_dim(client, model, value) bind(C, name="maas_model_output_dim")
       import :: c_int, c_ptr, c_char, c_int64_t
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*)
       integer(c_int64_t), intent(out) :: value
     end function
     integer(c_int) function c_model_parameter_count(client, model, value) bind(C, name="maas_model_parameter_count")
       import :: c_int, c_ptr, c_char, c_int64_t
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*)
       integer(c_int64_t), intent(out) :: value
     end function
     integer(c_int) function c_model_capabilities(client, model, caps) bind(C, name="maas_model_capabilities")
       import :: c_int, c_ptr, c_char, c_int32_t
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*)
       integer(c_int32_t), intent(out) :: caps
     end function
     integer(c_int) function c_model_name(client, model, text) bind(C, name="maas_model_name")
       import :: c_int, c_ptr, c_char
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*)
       type(c_ptr), intent(out) :: text
     end function
     integer(c_int) function c_model_uuid(client, model, text) bind(C, name="maas_model_uuid")
       import :: c_int, c_ptr, c_char
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*)
       type(c_ptr), intent(out) :: text
     end function
     integer(c_int) function c_model_version(client, model, text) bind(C, name="maas_model_version")
       import :: c_int, c_ptr, c_char
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*)
       type(c_ptr), intent(out) :: text
     end function
     integer(c_int) function c_model_parameter_sizes(client, model, sizes, capacity, count) &
          bind(C, name="maas_model_parameter_sizes")
       import :: c_int, c_ptr, c_char, c_int64_t
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*)
       integer(c_int64_t), intent(out) :: sizes(*)
       integer(c_int64_t), value :: capacity
       integer(c_int64_t), intent(out) :: count
     end function
     integer(c_int) function c_model_parameter_name(client, model, index, text) bind(C, name="maas_model_parameter_name")
       import :: c_int, c_ptr, c_char, c_int64_t
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*)
       integer(c_int64_t), value :: index
       type(c_ptr), intent(out) :: text
     end function
     subroutine c_free(p) bind(C, name="maas_free")
       import :: c_ptr
       type(c_ptr), value :: p
     end subroutine
     subroutine c_callback_error(message) bind(C, name="maas_callback_error")
       import :: c_char
       character(kind=c_char), intent(in) :: message(*)
     end subroutine
     integer(c_int) function c_client_connect(uri, options, client) bind(C, name="maas_client_connect")
       import :: c_int, c_char, c_ptr
       character(kind=c_char), intent(in) :: uri(*)
       type(c_ptr), value :: options
       type(c_ptr), intent(out) :: client
     end function
     integer(c_int) function c_client_close(client) bind(C, name="maas_client_close")
       import :: c_int, c_ptr
       type(c_ptr), value :: client
     end function
     integer(c_int) function c_client_model_info(client, model, json) bind(C, name="maas_client_model_info")
       import :: c_int, c_ptr, c_char
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*)
       type(c_ptr), intent(out) :: json
     end function
     integer(c_int) function c_log_density(client, model, x, n, d, theta, theta_len, out, capacity, out_len) &
          bind(C, name="maas_log_density")
       import :: c_int, c_ptr, c_char, c_double, c_int64_t
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*)
       real(c_double), intent(in) :: x(*)
       integer(c_int64_t), value :: n, d, theta_len, capacity
       type(c_ptr), value :: theta
       real(c_double), intent(out) :: out(*)
       integer(c_int64_t), intent(out) :: out_len
     end function
     integer(c_int) function c_evaluate(client, model, x, n, d, theta, theta_len, out, capacity, out_len) &
          bind(C, name="maas_evaluate")
       import :: c_int, c_ptr, c_char, c_double, c_int64_t
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*)
       real(c_double), intent(in) :: x(*)
       integer(c_int64_t), value :: n, d, theta_len, capacity
       type(c_ptr), value :: theta
       real(c_double), intent(out) :: out(*)
       integer(c_int64_t), intent(out) :: out_len
     end function
     integer(c_int) function c_gradient(client, model, kind, x, n, d, vector, vector_len, theta, theta_len, &
          out, capacity, out_len) bind(C, name="maas_gradient")
       import :: c_int, c_ptr, c_char, c_double, c_int64_t
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*)
       integer(c_int), value :: kind
       real(c_double), intent(in) :: x(*)
       integer(c_int64_t), value :: n, d, vector_len, theta_len, capacity
       type(c_ptr), value :: vector, theta
       real(c_double), intent(out) :: out(*)
       integer(c_int64_t), intent(out) :: out_len
     end function
     integer(c_int) function c_sample(client, model, seed, n, theta, theta_len, out, capacity, out_len) &
          bind(C, name="maas_sample")
       import :: c_int, c_ptr, c_char, c_double, c_int64_t
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*)
       integer(c_int64_t), value :: seed, n, theta_len, capacity
       type(c_ptr), value :: theta
       real(c_double), intent(out) :: out(*)
       integer(c_int64_t), intent(out) :: out_len
     end function
     integer(c_int) function c_get_parameter(client, model, name, out, capacity, out_len) bind(C, name="maas_get_parameter")
       import :: c_int, c_ptr, c_char, c_double, c_int64_t
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*), name(*)
       real(c_double), intent(out) :: out(*)
       integer(c_int64_t), value :: capacity
       integer(c_int64_t), intent(out) :: out_len
     end function
     integer(c_int) function c_update_parameter(client, model, name, values, length) bind(C, name="maas_update_parameter")
       import :: c_int, c_ptr, c_char, c_double, c_int64_t
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*), name(*)
       real(c_double), intent(in) :: values(*)
       integer(c_int64_t), value :: length
     end function
     integer(c_int) function c_read_data(client, model, dataset, offset, count, out, capacity, rows, cols) &
          bind(C, name="maas_read_data")
       import :: c_int, c_ptr, c_char, c_double, c_int64_t
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*), dataset(*)
       integer(c_int64_t), value :: offset, count, capacity
       real(c_double), intent(out) :: out(*)
       integer(c_int64_t), intent(out) :: rows, cols
     end function
     integer(c_int) function c_get_parameters(client, model, json) bind(C, name="maas_get_parameters")
       import :: c_int, c_ptr, c_char
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*)
       type(c_ptr), intent(out) :: json
     end function
     integer(c_int) function c_update_parameters(client, model, values, json) bind(C, name="maas_update_parameters")
       import :: c_int, c_ptr, c_char
       type(c_ptr), value :: client
       character(kind=c_char), intent(in) :: model(*), values(*)
       type(c_ptr), intent(out) :: json
     end function
     integer(c_int) function c_server_register_example(server, name) bind(C, name="maas_server_register_example")
       import :: c_int, c_ptr, c_char
       type(c_ptr), value :: server
       character(kind=c_char), intent(in) :: name(*)
     end function
     integer(c_int) function c_server_create(config, server) bind(C, name="maas_server_create")
       import :: c_int, c_char, c_ptr
       character(kind=c_char), intent(in) :: config(*)
       type(c_ptr), intent(out) :: server
     end function
     integer(c_int) function c_server_register_model(server, metadata, callbacks, flags) &
          bind(C, name="maas_server_register_model")
       import :: c_int, c_char, c_ptr, c_int32_t, maas_model_callbacks
       type(c_ptr), value :: server
       character(kind=c_char), intent(in) :: metadata(*)
       type(maas_model_callbacks), intent(in) :: callbacks
       integer(c_int32_t), value :: flags
     end function
     integer(c_int) function c_server_listen(server, uri, bound) bind(C, name="maas_server_listen")
       import :: c_int, c_char, c_ptr
       type(c_ptr), value :: server
       character(kind=c_char), intent(in) :: uri(*)
       type(c_ptr), intent(out) :: bound
     end function
     integer(c_int) function c_server_handle_call(server) bind(C, name="maas_server_start")
       import :: c_int, c_ptr
       type(c_ptr), value :: server
     end function
     integer(c_int) function c_server_serve(server) bind(C, name="maas_server_serve")
       import :: c_int, c_ptr
       type(c_ptr), value :: server
     end function
     integer(c_int) function c_server_stop(server) bind(C, name="maas_server_stop")
       import :: c_int, c_ptr
       type(c_ptr), value :: server
     end function
     integer(c_int) function c_server_free(server) bind(C, name="maas_server_free")
       import :: c_int, c_ptr
       type(c_ptr), value :: server
     end function
     function c_strlen(s) bind(C, name="strlen")
       import :: c_ptr, c_size_t
       type(c_ptr), value :: s
       integer(c_size_t) :: c_strlen
     end function
  end interface

  public :: maas_version, maas_last_error, maas_status_name, maas_callback_error
  public :: maas_model_input_dim, maas_model_output_dim, maas_model_parameter_count, maas_model_capabilities, &
       maas_model_name, maas_model_uuid, maas_model_version, maas_model_parameter_sizes, maas_model_parameter_name
  public :: maas_connect, maas_close, maas_model_info, maas_log_density, maas_evaluate, maas_gradient, &
       maas_sample, maas_get_parameter, maas_update_parameter, maas_read_data, maas_get_parameters, &
       maas_update_parameters
  public :: maas_server_create, maas_server_register, maas_server_register_example, maas_server_listen, maas_server_start, &
       maas_server_serve, maas_server_stop, maas_server_free

contains

  ! ---- strings ------------------------------------------------------------------------------------
  pure function cstr(s) result(c)
    character(len=*), intent(in) :: s
    character(kind=c_char, len=len_trim(s) + 1) :: c
    c = trim(s) // c_null_char
  end function cstr

  function from_c(p, free) result(s)
    type(c_ptr), intent(in) :: p
    logical, intent(in) :: free
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: chars(:)
    integer :: i, n
    if (.not. c_associated(p)) then
       s = ''
       return
    end if
    n = int(c_strlen(p))
    call c_f_pointer(p, chars, [n])
    allocate(character(len=n) :: s)
    do i = 1, n
       s(i:i) = chars(i)
    end do
    if (free) call c_free(p)
  end function from_c

  !> The library version.
  function maas_version() result(s)
    character(len=:), allocatable :: s
    s = from_c(c_version(), .false.)
  end function maas_version

  !> The message of the last failed call on this thread.
  function maas_last_error() result(s)
    character(len=:), allocatable :: s
    s = from_c(c_last_error(), .false.)
  end function maas_last_error

  !> The protocol name of a status code ("NotFound", ...; "Unknown" for other numbers), from the library.
  function maas_status_name(status) result(s)
    integer(c_int), intent(in) :: status
    character(len=:), allocatable :: s
    s = from_c(c_status_name(status), .false.)
  end function maas_status_name

  !> Called by a model procedure before it returns non-zero: the remote caller gets ModelError with this message.
  subroutine maas_callback_error(message)
    character(len=*), intent(in) :: message
    call c_callback_error(cstr(message))
  end subroutine maas_callback_error

  ! ---- client -------------------------------------------------------------------------------------
  !> Connects to "pipe:///path.sock" or "tcp://host:port".
  integer function maas_connect(client, uri) result(status)
    type(maas_client), intent(out) :: client
    character(len=*), intent(in) :: uri
    status = c_client_connect(cstr(uri), c_null_ptr, client%handle)
  end function maas_connect

  !> Closes the connection; the handle is kept so that a later use reports "closed".
  integer function maas_close(client) result(status)
    type(maas_client), intent(in) :: client
    status = c_client_close(client%handle)
  end function maas_close

  !> The model's info as JSON.
  integer function maas_model_info(client, model, json) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model
    character(len=:), allocatable, intent(out) :: json
    type(c_ptr) :: p
    p = c_null_ptr
    status = c_client_model_info(client%handle, cstr(model), p)
    json = from_c(p, .true.)
  end function maas_model_info

  ! ---- model description (no JSON): after the first call naming a model these make no round trip ----
  !> d: the rows of x(d, n) the model takes (and of its draws).
  integer function maas_model_input_dim(client, model, d) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model
    integer(c_int64_t), intent(out) :: d
    status = c_model_input_dim(client%handle, cstr(model), d)
  end function maas_model_input_dim

  !> The rows of y(output_dim, n) that maas_evaluate fills (0 without evaluate).
  integer function maas_model_output_dim(client, model, output_dim) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model
    integer(c_int64_t), intent(out) :: output_dim
    status = c_model_output_dim(client%handle, cstr(model), output_dim)
  end function maas_model_output_dim

  !> p: the number of values theta holds (the sum of the parameters' sizes).
  integer function maas_model_parameter_count(client, model, p) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model
    integer(c_int64_t), intent(out) :: p
    status = c_model_parameter_count(client%handle, cstr(model), p)
  end function maas_model_parameter_count

  !> The MAAS_CAP_* bits the model has.
  integer function maas_model_capabilities(client, model, caps) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model
    integer(c_int32_t), intent(out) :: caps
    status = c_model_capabilities(client%handle, cstr(model), caps)
  end function maas_model_capabilities

  !> The model's name (also when looked up by uuid).
  integer function maas_model_name(client, model, name) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model
    character(len=:), allocatable, intent(out) :: name
    type(c_ptr) :: p
    p = c_null_ptr
    status = c_model_name(client%handle, cstr(model), p)
    name = from_c(p, .true.)
  end function maas_model_name

  !> The model's uuid, "8-4-4-4-12" lowercase.
  integer function maas_model_uuid(client, model, uuid) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model
    character(len=:), allocatable, intent(out) :: uuid
    type(c_ptr) :: p
    p = c_null_ptr
    status = c_model_uuid(client%handle, cstr(model), p)
    uuid = from_c(p, .true.)
  end function maas_model_uuid

  integer function maas_model_version(client, model, version) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model
    character(len=:), allocatable, intent(out) :: version
    type(c_ptr) :: p
    p = c_null_ptr
    status = c_model_version(client%handle, cstr(model), p)
    version = from_c(p, .true.)
  end function maas_model_version

  !> sizes(i) = the number of values of parameter i (theta's order); count = the number of parameters,
  !> set also when sizes is too small (then MAAS_INVALID_ARGUMENT).
  integer function maas_model_parameter_sizes(client, model, sizes, count) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model
    integer(c_int64_t), intent(out), contiguous :: sizes(:)
    integer(c_int64_t), intent(out) :: count
    status = c_model_parameter_sizes(client%handle, cstr(model), sizes, size(sizes, kind=c_int64_t), count)
  end function maas_model_parameter_sizes

  !> The name of parameter i, counted from 1 in theta's order.
  integer function maas_model_parameter_name(client, model, i, name) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model
    integer, intent(in) :: i
    character(len=:), allocatable, intent(out) :: name
    type(c_ptr) :: p
    p = c_null_ptr
    status = c_model_parameter_name(client%handle, cstr(model), int(i - 1, c_int64_t), p)
    name = from_c(p, .true.)
  end function maas_model_parameter_name

  !> logp(i) = log p(x(:, i) | theta) for the n = size(x, 2) points of x(d, n). theta optional.
  integer function maas_log_density(client, model, x, logp, theta) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model
    real(c_double), intent(in), contiguous :: x(:, :)
    real(c_double), intent(out), contiguous :: logp(:)
    real(c_double), intent(in), optional, target, contiguous :: theta(:)
    integer(c_int64_t) :: out_len
    status = c_log_density(client%handle, cstr(model), x, size(x, 2, c_int64_t), size(x, 1, c_int64_t), &
         theta_ptr(theta), theta_len(theta), logp, size(logp, kind=c_int64_t), out_len)
  end function maas_log_density

  !> y(:, i) = F(theta; x(:, i)); y is (output_dim, n).
  integer function maas_evaluate(client, model, x, y, theta) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model
    real(c_double), intent(in), contiguous :: x(:, :)
    real(c_double), intent(out), contiguous :: y(:, :)
    real(c_double), intent(in), optional, target, contiguous :: theta(:)
    integer(c_int64_t) :: out_len
    status = c_evaluate(client%handle, cstr(model), x, size(x, 2, c_int64_t), size(x, 1, c_int64_t), &
         theta_ptr(theta), theta_len(theta), y, size(y, kind=c_int64_t), out_len)
  end function maas_evaluate

  !> A derivative: kind MAAS_GRADIENT_X (g is (d, n)), _THETA ((p, n)), _VJP/_JVP (with vector).
  integer function maas_gradient(client, model, kind, x, g, vector, theta) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model
    integer(c_int), intent(in) :: kind
    real(c_double), intent(in), contiguous :: x(:, :)
    real(c_double), intent(out), contiguous :: g(:, :)
    real(c_double), intent(in), optional, target, contiguous :: vector(:, :), theta(:)
    integer(c_int64_t) :: out_len, vector_len
    type(c_ptr) :: vp
    vp = c_null_ptr
    vector_len = 0
    if (present(vector)) then
       vp = c_loc(vector)
       vector_len = size(vector, kind=c_int64_t)
    end if
    status = c_gradient(client%handle, cstr(model), kind, x, size(x, 2, c_int64_t), size(x, 1, c_int64_t), &
         vp, vector_len, theta_ptr(theta), theta_len(theta), g, size(g, kind=c_int64_t), out_len)
  end function maas_gradient

  !> size(x, 2) draws into x(d, n); the same seed gives the same draws.
  integer function maas_sample(client, model, seed, x, theta) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model
    integer(c_int64_t), intent(in) :: seed
    real(c_double), intent(out), contiguous :: x(:, :)
    real(c_double), intent(in), optional, target, contiguous :: theta(:)
    integer(c_int64_t) :: out_len
    status = c_sample(client%handle, cstr(model), seed, size(x, 2, c_int64_t), theta_ptr(theta), theta_len(theta), &
         x, size(x, kind=c_int64_t), out_len)
  end function maas_sample

  !> One parameter's values; n receives its size.
  integer function maas_get_parameter(client, model, name, values, n) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model, name
    real(c_double), intent(out), contiguous :: values(:)
    integer(c_int64_t), intent(out) :: n
    status = c_get_parameter(client%handle, cstr(model), cstr(name), values, size(values, kind=c_int64_t), n)
  end function maas_get_parameter

  integer function maas_update_parameter(client, model, name, values) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model, name
    real(c_double), intent(in), contiguous :: values(:)
    status = c_update_parameter(client%handle, cstr(model), cstr(name), values, size(values, kind=c_int64_t))
  end function maas_update_parameter

  !> Rows [offset, offset+count) of a dataset into data(cols, rows) (count -1 = to the end);
  !> rows and cols receive the slice's shape (also when data is too small: then MAAS_INVALID_ARGUMENT).
  integer function maas_read_data(client, model, dataset, data, rows, cols, offset, count) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model, dataset
    real(c_double), intent(out), contiguous :: data(:, :)
    integer(c_int64_t), intent(out) :: rows, cols
    integer(c_int64_t), intent(in), optional :: offset, count
    integer(c_int64_t) :: first, wanted
    first = 0
    wanted = -1
    if (present(offset)) first = offset
    if (present(count)) wanted = count
    status = c_read_data(client%handle, cstr(model), cstr(dataset), first, wanted, data, size(data, kind=c_int64_t), rows, cols)
  end function maas_read_data

  !> The parameters as JSON: {"version": v, "values": {...}}.
  integer function maas_get_parameters(client, model, json) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model
    character(len=:), allocatable, intent(out) :: json
    type(c_ptr) :: p
    p = c_null_ptr
    status = c_get_parameters(client%handle, cstr(model), p)
    json = from_c(p, .true.)
  end function maas_get_parameters

  !> Updates several parameters from JSON, e.g. '{"mu": [1, 2], "sigma": 0.5}'; json receives the new values.
  integer function maas_update_parameters(client, model, values_json, json) result(status)
    type(maas_client), intent(in) :: client
    character(len=*), intent(in) :: model, values_json
    character(len=:), allocatable, intent(out) :: json
    type(c_ptr) :: p
    p = c_null_ptr
    status = c_update_parameters(client%handle, cstr(model), cstr(values_json), p)
    json = from_c(p, .true.)
  end function maas_update_parameters

  function theta_ptr(theta) result(p)
    real(c_double), intent(in), optional, target, contiguous :: theta(:)
    type(c_ptr) :: p
    p = c_null_ptr
    if (present(theta)) p = c_loc(theta)
  end function theta_ptr

  integer(c_int64_t) function theta_len(theta)
    real(c_double), intent(in), optional :: theta(:)
    theta_len = 0
    if (present(theta)) theta_len = size(theta, kind=c_int64_t)
  end function theta_len

  ! ---- server -------------------------------------------------------------------------------------
  !> config: JSON as maas_server_create ('{}' for defaults).
  integer function maas_server_create(server, config) result(status)
    type(maas_server), intent(out) :: server
    character(len=*), intent(in) :: config
    status = c_server_create(cstr(config), server%handle)
  end function maas_server_create

  !> metadata: JSON as maas_server_register_model; callbacks: c_funloc of bind(C) model procedures.
  integer function maas_server_register(server, metadata, callbacks, flags) result(status)
    type(maas_server), intent(in) :: server
    character(len=*), intent(in) :: metadata
    type(maas_model_callbacks), intent(in) :: callbacks
    integer(c_int32_t), intent(in), optional :: flags
    integer(c_int32_t) :: f
    f = 0
    if (present(flags)) f = flags
    status = c_server_register_model(server%handle, cstr(metadata), callbacks, f)
  end function maas_server_register

  !> Hosts a built-in example model of the library ("gaussian1d", "gaussian2d", "decay").
  integer function maas_server_register_example(server, name) result(status)
    type(maas_server), intent(in) :: server
    character(len=*), intent(in) :: name
    status = c_server_register_example(server%handle, cstr(name))
  end function maas_server_register_example

  !> Binds a URI now; bound receives the actual address (tcp port 0 → the real port).
  integer function maas_server_listen(server, uri, bound) result(status)
    type(maas_server), intent(in) :: server
    character(len=*), intent(in) :: uri
    character(len=:), allocatable, intent(out) :: bound
    type(c_ptr) :: p
    p = c_null_ptr
    status = c_server_listen(server%handle, cstr(uri), p)
    bound = from_c(p, .true.)
  end function maas_server_listen

  integer function maas_server_start(server) result(status)
    type(maas_server), intent(in) :: server
    status = c_server_handle_call(server%handle)
  end function maas_server_start

  !> Blocks until maas_server_stop (from another thread) or the process ends.
  integer function maas_server_serve(server) result(status)
    type(maas_server), intent(in) :: server
    status = c_server_serve(server%handle)
  end function maas_server_serve

  integer function maas_server_stop(server) result(status)
    type(maas_server), intent(in) :: server
    status = c_server_stop(server%handle)
  end function maas_server_stop

  integer function maas_server_free(server) result(status)
    type(maas_server), intent(in) :: server
    status = c_server_free(server%handle)
  end function maas_server_free
end module demos_maas
