# DemosMaas tests: a Julia-served model in its own process, the Julia client against it over tcp and
# pipe, and the error paths across the boundary.   julia --project=. -e 'using Pkg; Pkg.test()'
using DemosMaas
using Test
using SHA

include("model_functions.jl")

function start_server()
    dir = mktempdir()
    script = joinpath(@__DIR__, "served_model.jl")
    project = dirname(@__DIR__)
    process = open(`$(Base.julia_cmd()) --project=$project $script pipe://$dir/jl.sock tcp://127.0.0.1:0`, "r")
    line = readline(process)
    startswith(line, "listening") || error("server did not start: $line")
    process, split(line)[2:end]
end

process, uris = start_server()
try
    @testset "DemosMaas" begin
        @test count(==('.'), DemosMaas.version()) == 2

        for uri in uris
            @testset "over $(split(uri, ':')[1])" begin
                client = Client(uri; timeout=30)
                m = model(client, "jlnormal")
                @test m.input_dim == 2

                # the description, from the library's accessors (no JSON)
                @test (m.name, m.output_dim, m.parameter_count) == ("jlnormal", 0, 4)
                @test m.parameter_names == ["mu", "sigma"] && m.parameter_sizes == [2, 2]
                @test length(m.uuid) == 36 && model(client, m.uuid).name == "jlnormal"
                @test m.capabilities == CAP_LOG_DENSITY | CAP_GRADIENT_X | CAP_SAMPLE | CAP_PARAMETERS
                @test hascapability(m, CAP_SAMPLE) && !hascapability(m, CAP_EVALUATE)
                @test occursin("\"jlnormal\"", info(m))
                x = randn(2, 1000)
                θ = [0.0, 0.0, 1.0, 1.0]
                @test isapprox(log_density(m, x), normal_logp(x, θ); rtol=1e-12)
                @test isapprox(m(x), normal_logp(x, θ); rtol=1e-12)
                θ2 = [1.0, -1.0, 2.0, 0.5]
                @test isapprox(log_density(m, x; theta=θ2), normal_logp(x, θ2); rtol=1e-12)
                @test isapprox(gradient(m, x), normal_grad(x, θ); rtol=1e-12)

                a = sample(m, 500; seed=3)
                @test size(a) == (2, 500)
                @test a == sample(m, 500; seed=3)
                @test a != sample(m, 500; seed=4)

                update_parameter!(m, "mu", [0.5, 0.5])
                @test parameter(m, "mu") == [0.5, 0.5]
                update_parameters!(m, "mu" => [0.0, 0.0])
                @test occursin("\"version\"", parameters(m))

                # bad input across the boundary
                e = try log_density(m, randn(3, 4)); nothing catch err; err end
                @test e isa MaasError && e.status == "InvalidArgument"
                e = try model(client, "nope"); nothing catch err; err end
                @test e isa MaasError && e.status == "NotFound"
                e = try update_parameter!(m, "nope", [1.0]); nothing catch err; err end
                @test e isa MaasError && e.code == 1
                f = model(client, "failing")
                e = try log_density(f, [-1.0]); nothing catch err; err end
                @test e isa MaasError && e.status == "ModelError" && occursin("negative x is outside the model", e.message)
                @test log_density(f, [2.0]) == [2.0]  # the server lives on

                raw = client.handle
                close(client)
                e = try log_density(m, x); nothing catch err; err end
                @test e isa MaasError && e.status == "InvalidArgument"
                @test ccall(DemosMaas.sym(:maas_client_close), Cint, (Ptr{Cvoid},), raw) == 1
                @test occursin("closed", unsafe_string(ccall(DemosMaas.sym(:maas_last_error), Cstring, ())))
            end
        end

        @testset "status names come from the library" begin
            @test status_name(2) == "NotFound" && status_name(0) == "Ok" && status_name(99) == "Unknown"
            @test all(status_name(code) == unsafe_string(ccall(DemosMaas.sym(:maas_status_name), Cstring, (Cint,), code)) for code in 1:13)
        end

        @testset "capability bits match the header" begin
            header = read(joinpath(@__DIR__, "..", "..", "..", "c", "demos_maas.h"), String)
            bits = Dict(m.captures[1] => parse(UInt32, m.captures[2]) for m in eachmatch(r"MAAS_CAP_(\w+) = (\d+)", header))
            @test length(bits) == 9
            @test all(getfield(DemosMaas, Symbol("CAP_", name)) == value for (name, value) in bits)
        end

        @testset "accessors refuse bad handles and NULL outs" begin
            value = Ref{Int64}(7)
            @test ccall(DemosMaas.sym(:maas_model_input_dim), Cint, (Ptr{Cvoid}, Cstring, Ref{Int64}), C_NULL, "m", value) == 1
            @test value[] == 0
            @test ccall(DemosMaas.sym(:maas_model_input_dim), Cint, (Ptr{Cvoid}, Cstring, Ptr{Int64}), Ptr{Cvoid}(0xdead0), "m", C_NULL) == 1
            @test ccall(DemosMaas.sym(:maas_server_endpoint_count), Cint, (Ptr{Cvoid}, Ref{Int64}), C_NULL, value) == 1
        end

        @testset "README example" begin
            readme = read(joinpath(@__DIR__, "..", "..", "README.md"), String)
            example = match(r"<!-- run by DemosMaas/test/runtests.jl -->\n```julia\n(.*?)```"s, readme)
            @test example !== nothing
            sandbox = Module(:ReadmeExample)
            Core.eval(sandbox, :(uri = $(uris[end])))
            @test (include_string(sandbox, example.captures[1]); true)
        end

        @testset "API keys: refused without, served with" begin
            salt = rand(UInt8, 16)
            secret = "maas_jl-reader." * bytes2hex(rand(UInt8, 32))
            digest = bytes2hex(SHA.sha256(vcat(salt, Vector{UInt8}(codeunits(secret)))))
            entry = "{\"id\": \"jl-reader\", \"salt\": \"$(bytes2hex(salt))\", \"sha256\": \"$digest\", \"roles\": [\"reader\"]}"
            secured = Server(log_level="error", security="{\"keys\": [$entry], \"audit\": {\"enabled\": false}}")
            register_example!(secured, "gaussian1d")
            address = listen!(secured, "tcp://127.0.0.1:0")
            e = try Client(address; connect_timeout=5); nothing catch err; err end
            @test e isa MaasError && e.status == "Unauthenticated"
            c = Client(address; credentials=secret)
            @test log_density(model(c, "gaussian1d"), [0.0])[1] ≈ -0.5 * log(2π)
            close(c)
            close(secured)
        end

        @testset "handles and connections" begin
            @test ccall(DemosMaas.sym(:maas_client_close), Cint, (Ptr{Cvoid},), C_NULL) == 1
            @test ccall(DemosMaas.sym(:maas_server_start), Cint, (Ptr{Cvoid},), Ptr{Cvoid}(0xbeef0)) == 1
            e = try Client("pipe:///tmp/demos-maas-julia-nobody.sock"; connect_timeout=2); nothing catch err; err end
            @test e isa MaasError && e.status == "Unavailable"
            e = try Server(log_level="loud"); nothing catch err; err end
            @test e isa MaasError && e.status == "InvalidArgument"
        end
    end
finally
    kill(process)
end
